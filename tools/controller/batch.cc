#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "arbor/worker_pool.h"
#include "format.h"
#include "frontend.h"
#include "json_line.h"
#include "verb_usage.h"

namespace arbor::controller {
namespace {

// Prints lines in sequence order as they complete, and bounds how far reading runs ahead.
//
// The Scheduler finishes the commands of a batch one after another, often hundreds at once, and
// each line used to cost a write(2) of its own. Finished lines now gather in one buffer, and a
// writer thread prints and flushes whatever has gathered each time it wakes: a line waits for
// no later one, so a program driving arbor through a pipe still sees each answer at once, and a
// batch costs a few writes. Without a thread to spare, each completion writes as before.
class OrderedOutput {
 public:
  OrderedOutput() {
    if (!StartThread(writer_, [this] { WriteLoop(); }).ok()) writer_ = std::thread();
  }
  ~OrderedOutput() { Finish(); }
  OrderedOutput(const OrderedOutput&) = delete;
  OrderedOutput& operator=(const OrderedOutput&) = delete;

  void Complete(std::uint64_t seq, std::string text, bool ok) {
    std::unique_lock lock(mu_);
    if (!ok) failed_ = true;
    if (seq != next_) return Park(seq, std::move(text));
    Append(text);
    // The lines that were waiting for this one.
    while (!parked_.empty()) {
      Parked& p = parked_[next_ & (parked_.size() - 1)];
      if (!p.ready) break;
      Append(p.text);
      p = Parked();  // its memory goes: one long answer must not stay held by its slot
    }
    if (!writer_.joinable()) {
      WriteLocked();
      return;
    }
    bool wake = !wake_writer_;
    wake_writer_ = true;
    lock.unlock();
    if (wake) writer_cv_.notify_one();
  }
  // Blocks while more than `limit` lines are read but not yet written.
  // When it does block, `before` runs first and `after` once it no longer does.
  template <typename Before, typename After>
  void WaitBelow(std::uint64_t submitted, std::uint64_t limit, Before&& before, After&& after) {
    if (submitted - written_.load(std::memory_order_acquire) < limit) return;
    before();
    {
      std::unique_lock lock(mu_);
      reader_waits_ = true;
      reader_cv_.wait(lock, [&] { return submitted - written_.load() < limit; });
      reader_waits_ = false;
    }
    after();
  }
  // Writes what is left and stops the writer; after the last Complete().
  void Finish() {
    {
      std::lock_guard lock(mu_);
      stop_ = true;
    }
    writer_cv_.notify_one();
    if (writer_.joinable()) writer_.join();
  }
  std::uint64_t written() const { return written_.load(std::memory_order_acquire); }
  bool failed() {
    std::lock_guard lock(mu_);
    return failed_ || closed_;
  }
  bool closed() const { return closed_.load(std::memory_order_relaxed); }

 private:
  static constexpr std::size_t kKeepBytes = 1 << 20;

  // A line that finished before an earlier one.
  struct Parked {
    std::string text;
    bool ready = false;
  };

  // mu_ held. The line of `seq` goes to its slot: parked_[seq % size], for the seqs after next_.
  void Park(std::uint64_t seq, std::string text) {
    if (seq - next_ >= parked_.size()) {
      std::size_t size = std::max<std::size_t>(parked_.size(), 64);
      while (seq - next_ >= size) size *= 2;
      std::vector<Parked> bigger(size);
      for (std::uint64_t s = next_ + 1; s < next_ + parked_.size(); ++s) {
        bigger[s & (size - 1)] = std::move(parked_[s & (parked_.size() - 1)]);
      }
      parked_.swap(bigger);
    }
    parked_[seq & (parked_.size() - 1)] = Parked{std::move(text), true};
  }
  // mu_ held. The next line in order joins what the writer prints next.
  void Append(const std::string& text) {
    pending_ += text;
    pending_ += '\n';
    ++pending_lines_;
    ++next_;
  }
  // mu_ held, with no writer thread: prints what is pending.
  void WriteLocked() {
    if (!Print(pending_)) closed_ = true;
    pending_.clear();
    Wrote(pending_lines_);
  }
  // mu_ held.
  void Wrote(std::uint64_t lines) {
    pending_lines_ -= lines;
    written_.store(written_.load() + lines, std::memory_order_release);
    if (reader_waits_) reader_cv_.notify_all();
  }
  // False when the reader went away (EPIPE) or stdout is otherwise broken.
  static bool Print(const std::string& text) {
    bool ok = std::fwrite(text.data(), 1, text.size(), stdout) == text.size();
    return std::fflush(stdout) == 0 && ok;
  }
  void WriteLoop() {
    std::string chunk;
    std::unique_lock lock(mu_);
    for (;;) {
      writer_cv_.wait(lock, [&] { return wake_writer_ || stop_; });
      wake_writer_ = false;
      if (pending_.empty()) {
        if (stop_) return;
        continue;
      }
      chunk.swap(pending_);  // pending_ takes the old chunk's memory: no allocation per write
      std::uint64_t lines = pending_lines_;
      lock.unlock();
      bool ok = Print(chunk);
      chunk.clear();
      // A burst of long answers (big values, help, trees) leaves no big buffer behind.
      if (chunk.capacity() > kKeepBytes) std::string().swap(chunk);
      lock.lock();
      if (!ok) closed_ = true;
      Wrote(lines);
    }
  }

  std::mutex mu_;
  std::condition_variable writer_cv_;
  std::condition_variable reader_cv_;
  std::thread writer_;
  std::vector<Parked> parked_;   // a power of two in size, or empty
  std::string pending_;          // lines in order, not yet printed
  std::uint64_t pending_lines_ = 0;
  std::uint64_t next_ = 0;       // the first seq not yet in pending_
  std::atomic<std::uint64_t> written_{0};  // lines printed; changed under mu_
  bool wake_writer_ = false;
  bool reader_waits_ = false;
  bool stop_ = false;
  bool failed_ = false;
  std::atomic<bool> closed_{false};  // changed under mu_; read without it per line
};

// Read-ahead bounds, in commands and in bytes of command text: memory stays bounded however long
// the script is, and however long its lines (up to kMaxLineBytes each).
constexpr std::uint64_t kMaxOutstanding = 32768;
constexpr std::size_t kMaxOutstandingBytes = std::size_t{32} << 20;

// No command is longer: 64 arguments of 64 KiB each, with the verb and the id. A longer line is
// refused as it is read, so a runaway line costs this much memory and no more.
constexpr std::size_t kMaxLineBytes = std::size_t{5} << 20;

// Splits stdin into lines: std::getline, except that past kMaxLineBytes the rest of the line is
// read and dropped, and *too_long says so. It reads stdin in blocks, not a byte at a time through
// std::cin (a locked getc per byte), which cost more than parsing the command.
// `idle` runs before a read that would wait for input, `busy` when input came after that.
class LineReader {
 public:
  LineReader(int fd, std::function<void()> idle, std::function<void()> busy)
      : fd_(fd), buf_(std::make_unique<char[]>(kBlock)), idle_(std::move(idle)),
        busy_(std::move(busy)) {}

  // False at the end of the input.
  bool Next(std::string* line, bool* too_long) {
    line->clear();
    *too_long = false;
    for (;;) {
      if (begin_ == end_ && !Fill()) return !line->empty() || *too_long;
      const char* start = buf_.get() + begin_;
      std::size_t available = end_ - begin_;
      const char* nl = static_cast<const char*>(std::memchr(start, '\n', available));
      std::size_t take = nl != nullptr ? static_cast<std::size_t>(nl - start) : available;
      std::size_t room = kMaxLineBytes - line->size();
      if (take > room) *too_long = true;
      line->append(start, std::min(take, room));
      begin_ += nl != nullptr ? take + 1 : take;
      if (nl != nullptr) return true;
    }
  }

 private:
  static constexpr std::size_t kBlock = 64 * 1024;

  // Takes what read() has now, never waiting for a full block: a program driving arbor through
  // a pipe must get each answer without closing stdin. The end of input stays the end (as
  // getc's end-of-file does, even on a terminal); so does an error.
  bool Fill() {
    begin_ = end_ = 0;
    bool waited = false;
    while (!eof_) {
      pollfd ready{fd_, POLLIN, 0};
      if (!waited && poll(&ready, 1, 0) == 0) {
        idle_();
        waited = true;
      }
      ssize_t n = read(fd_, buf_.get(), kBlock);
      if (n > 0) {
        end_ = static_cast<std::size_t>(n);
        if (waited) busy_();
        return true;
      }
      if (n < 0 && errno == EINTR) continue;
      eof_ = true;
    }
    return false;
  }

  int fd_;
  std::unique_ptr<char[]> buf_;
  std::function<void()> idle_, busy_;
  std::size_t begin_ = 0;  // buf_[begin_, end_) is read but not yet returned
  std::size_t end_ = 0;
  bool eof_ = false;
};

}  // namespace

int RunBatch(Scheduler& scheduler, const VerbCatalog& verbs, const FrontendOptions& options) {
  OrderedOutput out;
  // While commands are at hand, the scheduler sends only full batches; when the reader would
  // wait, it sends what it has (Scheduler::Hold).
  scheduler.Hold();
  LineReader in(STDIN_FILENO, [&] { scheduler.Release(); }, [&] { scheduler.Hold(); });
  std::uint64_t seq = 0;
  std::string line;
  // The commands submitted and not yet printed, with their sizes, oldest first.
  std::deque<std::pair<std::uint64_t, std::size_t>> pending;
  std::size_t pending_bytes = 0;
  for (bool too_long = false; !out.closed() && in.Next(&line, &too_long);) {
    // Only --json reports how long a command took.
    auto submitted = options.json ? std::chrono::steady_clock::now()
                                  : std::chrono::steady_clock::time_point();
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
    if (options.json) {
      std::optional<NodeId> id = NodeOf(c);
      std::string text = c.text;
      scheduler.Submit(std::move(c), [&out, mine, text, id, submitted](Outcome o) {
        out.Complete(mine, RenderAnswer(true, text, id, o, submitted), o.ok);
      });
    } else {
      // A reference and a number: std::function holds them inline, with no allocation per
      // command. The plain line is what RenderAnswer() gives without --json.
      scheduler.Submit(std::move(c), [&out, mine](Outcome o) {
        out.Complete(mine, PlainLine(o), o.ok);
      });
    }
    auto release = [&] { scheduler.Release(); };
    auto hold = [&] { scheduler.Hold(); };
    out.WaitBelow(seq, kMaxOutstanding, release, hold);
    pending.emplace_back(mine, line.size());
    pending_bytes += line.size();
    for (;;) {
      for (std::uint64_t written = out.written(); !pending.empty() && pending.front().first < written;) {
        pending_bytes -= pending.front().second;
        pending.pop_front();
      }
      if (pending_bytes <= kMaxOutstandingBytes) break;
      out.WaitBelow(seq, seq - pending.front().first, release, hold);  // until the oldest is out
    }
  }
  scheduler.Release();
  scheduler.Drain();
  out.Finish();
  return options.fail_exit && out.failed() ? 1 : 0;
}

}  // namespace arbor::controller
