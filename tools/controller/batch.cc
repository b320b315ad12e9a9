#include <cstdio>
#include <iostream>
#include <map>

#include <fmt/format.h>

#include "format.h"
#include "frontend.h"
#include "json_line.h"
#include "verb_usage.h"

namespace arbor::controller {
namespace {

// Prints lines in sequence order as they complete, and bounds how far reading runs ahead.
class OrderedOutput {
 public:
  void Complete(std::uint64_t seq, std::string text, bool ok) {
    std::lock_guard lock(mu_);
    if (!ok) failed_ = true;
    done_[seq] = std::move(text);
    bool wrote = false;
    for (auto it = done_.find(next_); it != done_.end(); it = done_.find(next_)) {
      std::fwrite(it->second.data(), 1, it->second.size(), stdout);
      std::fputc('\n', stdout);
      done_.erase(it);
      ++next_;
      wrote = true;
    }
    if (wrote) {
      if (std::fflush(stdout) != 0) closed_ = true;  // the reader went away (EPIPE)
      cv_.notify_all();
    }
  }
  // Blocks while more than `limit` lines are outstanding.
  void WaitBelow(std::uint64_t submitted, std::uint64_t limit) {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [&] { return submitted - next_ < limit; });
  }
  bool failed() {
    std::lock_guard lock(mu_);
    return failed_ || closed_;
  }
  bool closed() {
    std::lock_guard lock(mu_);
    return closed_;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::uint64_t, std::string> done_;
  std::uint64_t next_ = 0;
  bool failed_ = false;
  bool closed_ = false;
};

// Read-ahead bound: memory stays small however long the script is.
constexpr std::uint64_t kMaxOutstanding = 16384;

// No command is longer: 64 arguments of 64 KiB each, with the verb and the id. A longer line is
// refused as it is read, so a runaway line costs this much memory and no more.
constexpr std::size_t kMaxLineBytes = std::size_t{5} << 20;

// std::getline, except that past `max` bytes the rest of the line is read and dropped, and
// *too_long says so. False at the end of the input.
bool ReadLine(std::istream& in, std::string* line, bool* too_long) {
  line->clear();
  *too_long = false;
  std::streambuf* buf = in.rdbuf();
  for (int c; (c = buf->sbumpc()) != std::char_traits<char>::eof();) {
    if (c == '\n') return true;
    if (line->size() < kMaxLineBytes) {
      line->push_back(static_cast<char>(c));
    } else {
      *too_long = true;
    }
  }
  return !line->empty() || *too_long;
}

}  // namespace

int RunBatch(Scheduler& scheduler, const VerbCatalog& verbs, const FrontendOptions& options) {
  OrderedOutput out;
  std::uint64_t seq = 0;
  std::string line;
  for (bool too_long = false; !out.closed() && ReadLine(std::cin, &line, &too_long);) {
    auto submitted = std::chrono::steady_clock::now();
    if (too_long) {
      std::uint64_t mine = seq++;
      Outcome error = ErrorOutcome(InvalidArgument(fmt::format(
          "line too long: over {} bytes, more than any command can be; skipped", kMaxLineBytes)));
      out.Complete(mine, RenderAnswer(options.json, CommandText(line.substr(0, 64)), std::nullopt,
                                      error, submitted), false);
      continue;
    }
    auto parsed = ParseCommand(line, verbs);
    if (!parsed) continue;
    std::uint64_t mine = seq++;
    if (!parsed->ok()) {
      Outcome error = ErrorOutcome(parsed->status());
      out.Complete(mine, RenderAnswer(options.json, CommandText(line), std::nullopt, error,
                                      submitted), false);
      continue;
    }
    Command c = std::move(*parsed).value();
    if (c.kind == CommandKind::kExit) break;
    if (c.kind == CommandKind::kHelp) {
      std::string text;
      for (const auto& l : c.verb.empty() ? HelpText(verbs) : VerbHelp(c.verb, verbs)) {
        text += (text.empty() ? "" : "\n") + l;
      }
      Outcome help = OkOutcome(std::move(text), Outcome::Style::kText);
      out.Complete(mine, RenderAnswer(options.json, c.text, std::nullopt, help, submitted), true);
      continue;
    }
    std::optional<NodeId> id = NodeOf(c);
    std::string text = options.json ? c.text : "";
    scheduler.Submit(std::move(c), [&out, &options, mine, text, id, submitted](Outcome o) {
      out.Complete(mine, RenderAnswer(options.json, text, id, o, submitted), o.ok);
    });
    out.WaitBelow(seq, kMaxOutstanding);
  }
  scheduler.Drain();
  return options.fail_exit && out.failed() ? 1 : 0;
}

}  // namespace arbor::controller
