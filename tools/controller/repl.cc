#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <cstdio>
#include <deque>
#include <editline/readline.h>

#include "format.h"
#include "frontend.h"
#include "json_line.h"

namespace arbor::controller {
namespace {

// State shared with libedit's line callback, which cannot carry a context pointer.
struct Repl {
  Scheduler* scheduler = nullptr;
  const VerbCatalog* verbs = nullptr;
  bool quit = false;
  bool json = false;
  std::uint64_t submitted = 0;

  std::mutex mu;
  std::deque<std::pair<std::uint64_t, std::string>> results;  // (seq, line) ready to print
  std::map<std::uint64_t, std::string> pending_text;           // seq -> command as typed
  int wake[2] = {-1, -1};  // a self-pipe: result threads poke the input loop
};
Repl* g_repl = nullptr;
int g_interrupt_fd = -1;  // write end of the wake pipe, for the signal handler

// Ctrl-C at the prompt clears the line, as in a shell; it must not take the tree down.
void OnInterrupt(int) {
  char c = 'i';
  [[maybe_unused]] ssize_t n = write(g_interrupt_fd, &c, 1);
}

void Print(const std::string& line) {
  std::fwrite(line.data(), 1, line.size(), stdout);
  std::fputc('\n', stdout);
}

void OnLine(char* raw) {
  Repl& r = *g_repl;
  if (raw == nullptr) {  // Ctrl-D
    r.quit = true;
    std::fputc('\n', stdout);
    return;
  }
  std::string line(raw);
  std::free(raw);
  auto submitted = std::chrono::steady_clock::now();
  auto parsed = ParseCommand(line, *r.verbs);
  if (!parsed) return;
  add_history(line.c_str());
  if (!parsed->ok()) {
    Outcome error = ErrorOutcome(parsed->status());
    return Print(RenderAnswer(r.json, CommandText(line), std::nullopt, error, submitted));
  }
  Command c = std::move(*parsed).value();
  if (c.kind == CommandKind::kExit) {
    r.quit = true;
    return;
  }
  if (c.kind == CommandKind::kHelp && r.json) {
    std::string text;
    for (const auto& l : HelpText(*r.verbs)) text += (text.empty() ? "" : "\n") + l;
    Outcome help = OkOutcome(std::move(text), Outcome::Style::kText);
    return Print(RenderAnswer(true, c.text, std::nullopt, help, submitted));
  }
  if (c.kind == CommandKind::kHelp) {
    for (const auto& l : HelpText(*r.verbs)) Print(l);
    return;
  }
  std::uint64_t seq = r.submitted++;
  {
    std::lock_guard lock(r.mu);
    r.pending_text[seq] = c.text;
  }
  std::optional<NodeId> id = NodeOf(c);
  std::string text = c.text;
  r.scheduler->Submit(std::move(c), [seq, id, text, submitted](Outcome o) {
    Repl& rr = *g_repl;
    std::string result = RenderAnswer(rr.json, text, id, o, submitted);
    {
      std::lock_guard lock(rr.mu);
      rr.results.emplace_back(seq, std::move(result));
    }
    char one = 1;
    [[maybe_unused]] ssize_t n = write(rr.wake[1], &one, 1);
  });
}

// Prints finished results above the prompt line, then redraws the prompt with what the user
// had typed so far.
void FlushResults(Repl& r) {
  char buf[64];
  bool interrupted = false;
  for (ssize_t n; (n = read(r.wake[0], buf, sizeof buf)) > 0;) {
    for (ssize_t i = 0; i < n; ++i) interrupted |= buf[i] == 'i';
  }
  if (interrupted) {
    r.scheduler->StopSeries();  // as Ctrl-C stops ping: the statistics still come
    std::fputs("^C\n", stdout);
    rl_replace_line("", 0);
    rl_forced_update_display();
  }
  std::deque<std::pair<std::uint64_t, std::string>> ready;
  std::uint64_t newest;
  {
    std::lock_guard lock(r.mu);
    ready.swap(r.results);
    newest = r.submitted;
  }
  if (ready.empty()) return;
  std::fputs("\r\033[K", stdout);
  for (auto& [seq, line] : ready) {
    std::string text;
    {
      std::lock_guard lock(r.mu);
      text = r.pending_text[seq];
      r.pending_text.erase(seq);
    }
    // A JSON object names its command itself.
    Print(seq + 1 == newest || r.json ? line : "[" + text + "] " + line);
  }
  std::fflush(stdout);
  rl_forced_update_display();
}

}  // namespace

int RunRepl(Scheduler& scheduler, const VerbCatalog& verbs, const FrontendOptions& options) {
  Repl r;
  r.scheduler = &scheduler;
  r.verbs = &verbs;
  r.json = options.json;
  if (pipe2(r.wake, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
  g_repl = &r;
  g_interrupt_fd = r.wake[1];
  struct sigaction sa {};
  sa.sa_handler = OnInterrupt;
  sigaction(SIGINT, &sa, nullptr);
  if (!options.history_file.empty()) read_history(options.history_file.c_str());
  std::fputs("arbor: type 'help' for commands, 'exit' or Ctrl-D to leave\n", stdout);
  rl_callback_handler_install("> ", OnLine);
  while (!r.quit) {
    pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {r.wake[0], POLLIN, 0}};
    if (poll(fds, 2, -1) < 0) continue;
    if (fds[1].revents & POLLIN) FlushResults(r);
    if (fds[0].revents & (POLLIN | POLLHUP)) rl_callback_read_char();
  }
  rl_callback_handler_remove();
  // Commands still in flight finish, and their results are shown, before the tree goes down.
  scheduler.EndSeries();
  scheduler.Drain();
  FlushResults(r);
  if (!options.history_file.empty()) {
    write_history(options.history_file.c_str());
    history_truncate_file(options.history_file.c_str(), 1000);
  }
  close(r.wake[0]);
  close(r.wake[1]);
  g_repl = nullptr;
  return 0;
}

}  // namespace arbor::controller
