#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <deque>

#include <spdlog/spdlog.h>

#include "completion.h"
#include "format.h"
#include "frontend.h"
#include "history_file.h"
#include "json_line.h"
#include "line_editor.h"
#include "verb_usage.h"

namespace arbor::controller {
namespace {

// Results finished on other threads, waiting for the input loop to print them.
struct Results {
  std::mutex mu;
  std::uint64_t submitted = 0;                                 // only the input loop writes it
  std::deque<std::pair<std::uint64_t, std::string>> ready;     // (seq, line)
  std::map<std::uint64_t, std::string> pending_text;           // seq -> command as typed
  int wake[2] = {-1, -1};  // a self-pipe: result threads and Ctrl-C poke the input loop
  bool json = false;       // --json: every answer is one JSON object (json_line.h)
};

int g_interrupt_fd = -1;  // write end of the wake pipe, for the signal handler

// Ctrl-C at the prompt clears the line, as in a shell; it must not take the tree down.
void OnInterrupt(int) {
  char c = 'i';
  [[maybe_unused]] ssize_t n = write(g_interrupt_fd, &c, 1);
}

// Runs one entered line; false when it asks to leave.
bool RunLine(const std::string& line, Scheduler& scheduler, const VerbCatalog& verbs,
             LineEditor& editor, Results& results) {
  auto submitted = std::chrono::steady_clock::now();
  auto parsed = ParseCommand(line, verbs);
  if (!parsed) return true;
  if (!parsed->ok()) {
    editor.AddHistory(line);  // kept, so that the mistake can be recalled and corrected
    Outcome error = ErrorOutcome(parsed->status());
    editor.Print({RenderAnswer(results.json, CommandText(line), std::nullopt, error, submitted)});
    return true;
  }
  Command c = std::move(*parsed).value();
  // `exit` is left out: the next session would otherwise start with it under the up arrow.
  if (c.kind == CommandKind::kExit) return false;
  editor.AddHistory(line);
  if (c.kind == CommandKind::kHelp) {
    std::vector<std::string> help = c.verb.empty() ? HelpText(verbs) : VerbHelp(c.verb, verbs);
    if (!results.json) {
      editor.Print(help);
      return true;
    }
    std::string text;
    for (const auto& l : help) text += (text.empty() ? "" : "\n") + l;
    Outcome answer = OkOutcome(std::move(text), Outcome::Style::kText);
    editor.Print({RenderAnswer(true, c.text, std::nullopt, answer, submitted)});
    return true;
  }
  std::uint64_t seq = results.submitted++;
  {
    std::lock_guard lock(results.mu);
    results.pending_text[seq] = c.text;
  }
  std::optional<NodeId> id = NodeOf(c);
  std::string text = c.text;
  scheduler.Submit(std::move(c), [&results, seq, id, text, submitted](Outcome o) {
    std::string result = RenderAnswer(results.json, text, id, o, submitted);
    {
      std::lock_guard lock(results.mu);
      results.ready.emplace_back(seq, std::move(result));
    }
    char one = 1;
    [[maybe_unused]] ssize_t n = write(results.wake[1], &one, 1);
  });
  return true;
}

// Prints the results that finished. One that arrives after later commands were typed is
// prefixed with its command, so it cannot be mistaken for theirs.
void FlushResults(Results& results, LineEditor& editor, Scheduler& scheduler) {
  char buf[64];
  bool interrupted = false;
  for (ssize_t n; (n = read(results.wake[0], buf, sizeof buf)) > 0;) {
    for (ssize_t i = 0; i < n; ++i) interrupted |= buf[i] == 'i';
  }
  if (interrupted) {
    scheduler.StopSeries();  // as Ctrl-C stops ping: the statistics still come
    editor.Interrupt();
  }
  std::vector<std::string> lines;
  {
    std::lock_guard lock(results.mu);
    for (auto& [seq, line] : results.ready) {
      std::string text = std::move(results.pending_text[seq]);
      results.pending_text.erase(seq);
      // A JSON object names its command itself.
      bool plain = seq + 1 == results.submitted || results.json;
      lines.push_back(plain ? line : "[" + text + "] " + line);
    }
    results.ready.clear();
  }
  if (!lines.empty()) editor.Print(lines);
}

// The history file, its directories made; "" when there is none or it cannot be kept.
std::string PrepareHistory(const std::string& file) {
  if (file.empty()) return file;
  if (Status s = MakeHistoryDirectories(file); !s.ok()) {
    spdlog::warn("the history is not kept: {}", s.message());
    return "";
  }
  return file;
}

}  // namespace

int RunRepl(Scheduler& scheduler, const VerbCatalog& verbs, const FrontendOptions& options) {
  Results results;
  results.json = options.json;
  if (pipe2(results.wake, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
  g_interrupt_fd = results.wake[1];
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigaction(SIGINT, &sa, nullptr);

  std::fputs("arbor: type 'help' for commands, 'exit' or Ctrl-D to leave\n", stdout);
  LineEditor::Options editor_options;
  editor_options.history_file = PrepareHistory(options.history_file);
  editor_options.history_entries = kHistoryEntries;
  editor_options.complete = [&](std::string_view before_cursor) {
    return Completions(before_cursor, verbs, options.node_ids ? options.node_ids()
                                                              : std::vector<NodeId>{});
  };
  editor_options.hint = [&](std::string_view line) { return Hint(line, verbs); };
  Result<std::unique_ptr<LineEditor>> opened = LineEditor::Open(std::move(editor_options));
  if (!opened.ok()) {
    spdlog::error("{}", opened.status().message());
    return 1;
  }
  {
    LineEditor& editor = **opened;
    for (bool running = true; running;) {
      pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {results.wake[0], POLLIN, 0}};
      int ready = poll(fds, 2, -1);
      editor.HandleSignals();
      if (ready < 0) continue;
      if (fds[1].revents & POLLIN) FlushResults(results, editor, scheduler);
      if (fds[0].revents == 0) continue;
      switch (editor.ReadKey()) {
        case LineEditor::Event::kNone: break;
        case LineEditor::Event::kEnd: running = false; break;
        case LineEditor::Event::kLine:
          running = RunLine(editor.line(), scheduler, verbs, editor, results);
          if (running) editor.Prompt();
          break;
      }
    }
    // Commands still in flight finish, and their results are shown, before the tree goes down;
    // ping series end rather than hold exit for their remaining probes.
    scheduler.EndSeries();
    scheduler.Drain();
    FlushResults(results, editor, scheduler);
    opened->reset();  // the terminal as it was
  }
  close(results.wake[0]);
  close(results.wake[1]);
  return 0;
}

}  // namespace arbor::controller
