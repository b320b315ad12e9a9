#include "line_editor.h"

#include <signal.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iterator>

#include <fmt/format.h>

namespace arbor::controller {
namespace {

void Write(const std::string& text) {
  std::fwrite(text.data(), 1, text.size(), stdout);
  std::fflush(stdout);
}

// Terminal columns a UTF-8 string takes, counting one per code point.
int Columns(std::string_view text) {
  int n = 0;
  for (char c : text) n += (static_cast<unsigned char>(c) & 0xc0) != 0x80;
  return n;
}

// CSI n C and CSI n D; n = 0 must send nothing, since terminals read 0 as 1.
std::string Right(int n) { return n > 0 ? fmt::format("\033[{}C", n) : ""; }
std::string Left(int n) { return n > 0 ? fmt::format("\033[{}D", n) : ""; }

// True when stdin has nothing more to give: readable (or hung up) with no byte waiting.
// libedit would return at once without a key, and the caller's poll loop would spin.
bool InputEnded() {
  int waiting = 0;
  return ioctl(STDIN_FILENO, FIONREAD, &waiting) != 0 || waiting == 0;
}

// libedit's own signal handling (EL_SIGNAL) passes each signal on with kill(0, signal), to the
// whole process group: a SIGINT sent to the controller alone would reach whatever shares its
// group (a test runner, a script). These handlers do the part that is needed instead.
termios g_saved_terminal{};
volatile sig_atomic_t g_resized = 0;
volatile sig_atomic_t g_continued = 0;

// SIGTERM, SIGHUP, SIGQUIT: the terminal as it was before, then the signal's usual end.
void OnFatalSignal(int signal) {
  tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_terminal);
  std::signal(signal, SIG_DFL);
  raise(signal);
}

// Ctrl-Z: the terminal as it was before while stopped; raw again (HandleSignals) after.
void OnStop(int) {
  int saved_errno = errno;
  termios editing{};
  tcgetattr(STDIN_FILENO, &editing);
  tcsetattr(STDIN_FILENO, TCSANOW, &g_saved_terminal);
  std::signal(SIGTSTP, SIG_DFL);
  raise(SIGTSTP);  // stops here until SIGCONT
  std::signal(SIGTSTP, OnStop);
  tcsetattr(STDIN_FILENO, TCSANOW, &editing);
  g_continued = 1;
  errno = saved_errno;
}

void OnResize(int) { g_resized = 1; }

constexpr int kHandledSignals[] = {SIGTERM, SIGHUP, SIGQUIT, SIGTSTP, SIGWINCH};

// The keys libedit's readline emulation binds and its emacs map lacks.
constexpr const char* kBindings[][2] = {
    {"^R", "em-inc-search-prev"},       {"\\e[1~", "ed-move-to-beg"},
    {"\\e[4~", "ed-move-to-end"},       {"\\e[7~", "ed-move-to-beg"},
    {"\\e[8~", "ed-move-to-end"},       {"\\e[H", "ed-move-to-beg"},
    {"\\e[F", "ed-move-to-end"},        {"\\e[3~", "ed-delete-next-char"},
    {"\\e[1;5C", "em-next-word"},       {"\\e[1;5D", "ed-prev-word"},
};

}  // namespace

Result<std::unique_ptr<LineEditor>> LineEditor::Open(Options options) {
  std::unique_ptr<LineEditor> editor(new LineEditor(std::move(options)));
  if (editor->el_ == nullptr) return Internal("libedit cannot set up the terminal");
  return editor;
}

LineEditor::LineEditor(Options options) : options_(std::move(options)) {
  tty_ = isatty(STDIN_FILENO) != 0;
  // Hints are drawn with ANSI sequences, which a dumb terminal would print as text.
  const char* term = std::getenv("TERM");
  terminal_ = tty_ && isatty(STDOUT_FILENO) != 0 && term != nullptr &&
              std::strcmp(term, "dumb") != 0;
  el_ = el_init("arbor", stdin, stdout, stderr);
  if (el_ == nullptr) return;
  el_set(el_, EL_CLIENTDATA, this);
  el_set(el_, EL_EDITOR, "emacs");
  el_set(el_, EL_SIGNAL, 0);  // see OnFatalSignal
  el_set(el_, EL_PROMPT, &LineEditor::PromptText);
  history_ = history_init();
  HistEvent ev;
  history(history_, &ev, H_SETSIZE, options_.history_entries);
  history(history_, &ev, H_SETUNIQUE, 1);
  if (!options_.history_file.empty()) {
    history(history_, &ev, H_LOAD, options_.history_file.c_str());
  }
  el_set(el_, EL_HIST, history, history_);
  el_set(el_, EL_ADDFN, "arbor-complete", "complete a command or a node id", &LineEditor::OnTab);
  el_set(el_, EL_BIND, "^I", "arbor-complete", static_cast<const char*>(nullptr));
  for (const auto& [key, function] : kBindings) {
    el_set(el_, EL_BIND, key, function, static_cast<const char*>(nullptr));
  }
  el_source(el_, nullptr);  // ~/.editrc, as every libedit program reads it
  if (tty_ && tcgetattr(STDIN_FILENO, &g_saved_terminal) == 0) {
    for (std::size_t i = 0; i < std::size(kHandledSignals); ++i) {
      int signal = kHandledSignals[i];
      struct sigaction sa {};
      sa.sa_handler = signal == SIGTSTP    ? OnStop
                      : signal == SIGWINCH ? OnResize
                                           : OnFatalSignal;
      sigaction(signal, &sa, &previous_[i]);
    }
    signals_installed_ = true;
  }
  Restart();
}

LineEditor::~LineEditor() {
  if (el_ == nullptr) return;
  EraseHint();
  el_end(el_);  // the terminal as it was
  history_end(history_);
  if (!signals_installed_) return;
  for (std::size_t i = 0; i < std::size(kHandledSignals); ++i) {
    sigaction(kHandledSignals[i], &previous_[i], nullptr);
  }
}

void LineEditor::HandleSignals() {
  if (g_resized != 0) {
    g_resized = 0;
    el_resize(el_);
  }
  if (g_continued != 0) {
    g_continued = 0;
    if (!prompt_shown_) return;
    // Back in the foreground, on the fresh row below what the shell wrote: the line again.
    hint_drawn_ = false;
    Write("\r");
    el_set(el_, EL_REFRESH);
    DrawHint();
  }
}

char* LineEditor::PromptText(EditLine* el) {
  void* self = nullptr;
  el_get(el, EL_CLIENTDATA, &self);
  // libedit's prompt function type returns char*; it only reads the text.
  return const_cast<char*>(static_cast<LineEditor*>(self)->options_.prompt);
}

unsigned char LineEditor::OnTab(EditLine* el, int) {
  void* self = nullptr;
  el_get(el, EL_CLIENTDATA, &self);
  return static_cast<LineEditor*>(self)->Complete();
}

void LineEditor::Restart() {
  line_.clear();
  point_ = 0;
  hint_drawn_ = false;
  if (!tty_) return;  // no editing: libedit reads whole lines and draws nothing
  // Leaving unbuffered mode and entering it again is libedit's way to a new line: the
  // terminal goes raw, the line empties, the prompt is drawn.
  el_set(el_, EL_UNBUFFERED, 0);
  el_set(el_, EL_UNBUFFERED, 1);
  prompt_shown_ = true;
}

void LineEditor::Prompt() { Restart(); }

LineEditor::Event LineEditor::ReadKey() {
  EraseHint();
  if (InputEnded()) return End();
  int count = 0;
  errno = 0;
  const char* buf = el_gets(el_, &count);
  if (!tty_) {  // a whole line, or the last bytes before the end of the input
    if (buf == nullptr || count <= 0) return End();
    entered_.assign(buf, static_cast<std::size_t>(count));
    if (entered_.back() == '\n') entered_.pop_back();
    return Event::kLine;
  }
  // No line and a count of -1 means a read error, or else a line that is empty now (after
  // Ctrl-U, say); only the error sets errno.
  if (buf == nullptr && errno != 0) return End();
  std::string_view got = buf != nullptr ? std::string_view(buf, count) : std::string_view();
  if (got == "\x04") return End();  // Ctrl-D on an empty line
  if (!got.empty() && got.back() == '\n') {
    // libedit has moved the cursor to the row below the line.
    entered_.assign(got.substr(0, got.size() - 1));
    prompt_shown_ = false;
    line_.clear();
    point_ = 0;
    return Event::kLine;
  }
  Sync();
  DrawHint();
  return Event::kNone;
}

LineEditor::Event LineEditor::End() {
  if (prompt_shown_) Write("\n");
  prompt_shown_ = false;
  return Event::kEnd;
}

void LineEditor::Sync() {
  const LineInfo* li = el_line(el_);
  line_.assign(li->buffer, li->lastchar);
  point_ = static_cast<std::size_t>(li->cursor - li->buffer);
}

void LineEditor::Print(const std::vector<std::string>& lines) {
  std::string out;
  for (const std::string& l : lines) out += l + "\n";
  if (!prompt_shown_) return Write(out);
  ClearInput();
  Write(out);
  el_set(el_, EL_REFRESH);  // the prompt and the line, the cursor where it was
  DrawHint();
}

void LineEditor::Interrupt() {
  if (!prompt_shown_) return;
  EraseHint();
  Write("^C\n");
  Restart();
}

void LineEditor::AddHistory(const std::string& line) {
  HistEvent ev;
  history(history_, &ev, H_ENTER, line.c_str());
  if (options_.history_file.empty()) return;
  history(history_, &ev, H_SAVE, options_.history_file.c_str());
  chmod(options_.history_file.c_str(), 0600);  // what the user typed is theirs alone
}

int LineEditor::ScreenColumns() const {
  int columns = 0;
  el_get(el_, EL_GETTC, "co", &columns);
  return columns > 0 ? columns : 80;
}

// libedit does not know about the hint and takes the cells after the line for blank, so the
// hint is erased before libedit draws again, and drawn anew after.
void LineEditor::EraseHint() {
  if (!hint_drawn_) return;
  hint_drawn_ = false;
  Write(Right(hint_shift_) + "\033[K" + Left(hint_shift_));
}

// Dim, after the end of the line, on the same row, and only whole: a hint that would reach the
// last column is left out (a cut one reads as a different synopsis). The cursor stays put.
void LineEditor::DrawHint() {
  if (!terminal_ || !prompt_shown_ || hint_drawn_ || !options_.hint) return;
  std::string hint = options_.hint(line_);
  int prompt = Columns(options_.prompt);
  int room = ScreenColumns() - 1 - prompt - Columns(line_);
  if (hint.empty() || Columns(hint) > room) return;
  int shift = Columns(std::string_view(line_).substr(point_));
  Write(Right(shift) + "\033[2m" + hint + "\033[0m" + Left(shift + Columns(hint)));
  hint_drawn_ = true;
  hint_shift_ = shift;
}

// Clears the prompt and the line (every row it wraps onto) and leaves the cursor at the start
// of the prompt's row, so that what is printed next goes where they were.
void LineEditor::ClearInput() {
  int cursor = Columns(options_.prompt) + Columns(std::string_view(line_).substr(0, point_));
  int row = cursor / ScreenColumns();
  Write("\r" + (row > 0 ? fmt::format("\033[{}A", row) : "") + "\033[J");
  hint_drawn_ = false;
}

unsigned char LineEditor::Complete() {
  if (!options_.complete) return CC_ERROR;
  Sync();
  std::string_view before = std::string_view(line_).substr(0, point_);
  std::size_t space = before.find_last_of(" \t");
  std::string_view word = space == std::string_view::npos ? before : before.substr(space + 1);
  std::vector<std::string> candidates;
  for (std::string& c : options_.complete(before)) {
    if (c.compare(0, word.size(), word) == 0) candidates.push_back(std::move(c));
  }
  if (candidates.empty()) return CC_ERROR;  // a beep
  std::string common = candidates[0];
  for (const std::string& c : candidates) {
    auto mismatch = std::mismatch(common.begin(), common.end(), c.begin(), c.end());
    common.erase(mismatch.first, common.end());
  }
  std::string insert = common.substr(word.size());
  bool at_word_end = point_ == line_.size() || line_[point_] == ' ';
  if (candidates.size() == 1 && point_ == line_.size()) insert += ' ';
  if (!insert.empty() && at_word_end) {
    el_insertstr(el_, insert.c_str());
    return CC_REFRESH;
  }
  if (candidates.size() == 1) return CC_NORM;
  ListCandidates(candidates);
  return CC_NORM;
}

// Below the line, in columns, then the prompt and the line again under them.
void LineEditor::ListCandidates(const std::vector<std::string>& candidates) {
  int columns = ScreenColumns();
  int prompt = Columns(options_.prompt);
  int rows_below = (prompt + Columns(line_)) / columns -
                   (prompt + Columns(std::string_view(line_).substr(0, point_))) / columns;
  std::size_t width = 0;
  for (const std::string& c : candidates) width = std::max(width, c.size() + 2);
  std::size_t per_row = std::max<std::size_t>(1, static_cast<std::size_t>(columns) / width);
  std::string out = (rows_below > 0 ? fmt::format("\033[{}B", rows_below) : "") + "\r\n";
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    bool last_in_row = (i + 1) % per_row == 0 || i + 1 == candidates.size();
    out += last_in_row ? candidates[i] + "\n" : fmt::format("{:<{}}", candidates[i], width);
  }
  Write(out);
  el_set(el_, EL_REFRESH);
}

}  // namespace arbor::controller
