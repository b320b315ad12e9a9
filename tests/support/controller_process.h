// ControllerProcess: the real `arbor` binary, driven the way a script or a person drives it.
//
// Pipe mode (the default) gives batch mode: write a command, read its result line. Pty mode
// gives the interactive REPL, for tests of what a person at a terminal sees. Every read has a
// deadline, so a hung controller fails the test instead of hanging it. The destructor kills
// the controller if it still runs.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

namespace arbor::testing {

using namespace std::chrono_literals;

std::string BinDir();
std::string TestConfig(const std::string& name);  // tests/configs/<name>

class ControllerProcess {
 public:
  // kPtyWithStderr: stderr goes to the terminal too (what a person sees), not to Stderr().
  enum class Mode { kPipe, kPty, kPtyWithStderr };
  // The pseudo-terminal's size, and its TERM (the terminal TerminalScreen models).
  static constexpr int kPtyRows = 24;
  static constexpr int kPtyColumns = 80;
  // `env`: changes to the controller's environment, "NAME=value" to set and "NAME" to unset.
  // The controller runs with --history '' (so no test writes the user's history) unless `env`
  // sets HOME: a test that gives it a home of its own may use the default history file.
  // `binary`: another arbor than the build tree's (an installed one).
  explicit ControllerProcess(std::vector<std::string> args = {}, Mode mode = Mode::kPipe,
                             std::vector<std::string> env = {}, std::string binary = {});
  // False where the machine offers no pseudo-terminals (a chroot without /dev/pts).
  static bool PtyAvailable();
  ~ControllerProcess();

  pid_t pid() const { return pid_; }
  // "--session <pid>-": the marker on the command line of every node of this controller.
  std::string session_marker() const;

  void Send(const std::string& line);
  // Writes `bytes` as they are: keys, with no newline added.
  void SendRaw(const std::string& bytes);
  // Everything read and not yet returned, waiting up to `timeout` for some when there is none;
  // "" when nothing came.
  std::string ReadSome(std::chrono::milliseconds timeout);
  // The next output line, or nullopt at EOF or after `timeout`.
  std::optional<std::string> ReadLine(std::chrono::milliseconds timeout = 10s);
  // The next line, or "<no line>" at EOF or after `timeout` (printable in a failed CHECK).
  std::string NextLine(std::chrono::milliseconds timeout = 10s) {
    return ReadLine(timeout).value_or("<no line>");
  }
  // Send + ReadLine; "<timeout>" when no line came.
  std::string Command(const std::string& line, std::chrono::milliseconds timeout = 10s);
  // Pty mode: reads until `needle` appears in the output; returns everything read so far.
  std::optional<std::string> ReadUntil(const std::string& needle, std::chrono::milliseconds timeout);

  void CloseInput();
  // Exit status (as from waitpid), or nullopt if it did not exit within `timeout`.
  std::optional<int> Wait(std::chrono::milliseconds timeout = 10s);
  void Kill(int signal);
  std::string Stderr() const;  // what it wrote to stderr so far

 private:
  bool Fill(std::chrono::steady_clock::time_point deadline);

  pid_t pid_ = -1;
  int in_ = -1;   // we write commands here
  int out_ = -1;  // we read results here
  std::string stderr_path_;
  std::string buffer_;
  std::optional<int> status_;
};

}  // namespace arbor::testing
