// LineEditor: the REPL's terminal, through libedit's own API, fed one key at a time so the
// caller can wait on other things (results from other threads) between keys.
//
// What it adds to libedit: TAB completion from a callback; a hint from a callback, drawn dim
// after the line on terminals (libedit has no hints, so it is drawn as linenoise does: after
// the line, the cursor moved back, erased before libedit draws again); printing lines above
// the prompt with the line being typed drawn again intact; and a history file with a size
// limit. libedit's readline emulation is not used: in callback mode it leaves the terminal in
// cooked mode after each line (the kernel then echoes the next line and libedit draws it a
// second time) and does not report a line that became empty. When stdin is not a terminal
// (--mode repl on a pipe), libedit reads whole lines and nothing is drawn.
//
// Thread-safety: none; one thread owns it, and there is one per process: while it lives it
// handles SIGTERM, SIGHUP and SIGQUIT (the terminal is restored, then the signal has its usual
// effect), SIGTSTP and SIGWINCH. SIGINT is the caller's.
#pragma once

#include <signal.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <histedit.h>

#include "arbor/result.h"

namespace arbor::controller {

class LineEditor {
 public:
  struct Options {
    const char* prompt = "> ";
    std::string history_file;  // empty: no history file
    int history_entries = 1000;
    // The words that can stand at the cursor; `before_cursor` is the line up to it.
    std::function<std::vector<std::string>(std::string_view before_cursor)> complete;
    // Dim text to show after the line; "" for none.
    std::function<std::string(std::string_view line)> hint;
  };

  // Takes the terminal (stdin, stdout) and shows the prompt.
  static Result<std::unique_ptr<LineEditor>> Open(Options options);
  // Gives the terminal back as it was.
  ~LineEditor();
  LineEditor(const LineEditor&) = delete;
  LineEditor& operator=(const LineEditor&) = delete;

  enum class Event { kNone, kLine, kEnd };
  // Reads and handles one key; call when stdin is readable. kLine: a line was entered (see
  // line()), the cursor is at the start of the row below it and no prompt is shown until
  // Prompt(). kEnd: Ctrl-D on an empty line, or stdin has nothing more to give.
  Event ReadKey();
  const std::string& line() const { return entered_; }
  // Shows a fresh prompt after kLine.
  void Prompt();

  // Prints `lines`: above the prompt, drawing the prompt and the typed text again below them
  // with the cursor where it was, or straight out when no prompt is shown.
  void Print(const std::vector<std::string>& lines);
  // Ctrl-C: leaves the typed text behind with "^C" and starts an empty line.
  void Interrupt();
  // Acts on the signals that came since the last call: a resized terminal, a return to the
  // foreground after Ctrl-Z. Call after every wait (a signal ends poll() early).
  void HandleSignals();

  // Adds to the history, and writes the history file at once, so that what was typed survives
  // a controller that is killed. A repeat of the previous entry is not added.
  void AddHistory(const std::string& line);

 private:
  explicit LineEditor(Options options);
  static unsigned char OnTab(EditLine* el, int key);
  static char* PromptText(EditLine* el);

  unsigned char Complete();
  void ListCandidates(const std::vector<std::string>& candidates);
  Event End();
  void Sync();  // copies libedit's line and cursor into line_ and point_
  void DrawHint();
  void EraseHint();
  void ClearInput();
  int ScreenColumns() const;
  void Restart();  // an empty line with a new prompt, the terminal in raw mode

  Options options_;
  EditLine* el_ = nullptr;
  History* history_ = nullptr;
  bool tty_ = false;          // stdin is a terminal: libedit edits; else it reads lines
  bool terminal_ = false;     // stdout is one too: hints are drawn
  bool prompt_shown_ = false;
  std::string entered_;
  // The line being edited and the cursor's byte offset in it.
  std::string line_;
  std::size_t point_ = 0;
  // A hint is on the screen, hint_shift_ columns right of the cursor.
  bool hint_drawn_ = false;
  int hint_shift_ = 0;
  bool signals_installed_ = false;
  struct sigaction previous_[5] = {};  // the handlers before ours, one per handled signal
};

}  // namespace arbor::controller
