// What a default arbor tree talks to, as the kernel sees it: the controller and every node run
// under `strace -f`, and every address they bind, connect or send to must be a unix socket
// (abstract or path) or loopback. The parser of strace's lines is tested first on synthetic
// lines, so that a tree that did reach beyond the machine could not pass unnoticed.
//
// strace missing fails the test in CI (CI=true: tools/dev.sh installs it) and skips it
// elsewhere; a sandbox that forbids ptrace skips it. A skip prints "SKIPPED:", which ctest
// reports as skipped, not passed (tests/integration/CMakeLists.txt).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <fstream>
#include <optional>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "controller_process.h"
#include "netns_lab.h"
#include "processes.h"

extern char** environ;

using namespace arbor::testing;
using namespace std::chrono_literals;

namespace {

// ---- The parser ----------------------------------------------------------------------------

// What one trace says about addresses.
struct TraceCheck {
  int node_execs = 0;     // execve of arbor-node
  int unix_binds = 0;     // bind to an AF_UNIX address
  int unix_connects = 0;  // connect to an AF_UNIX address
  std::vector<std::string> offending;  // "<why>: <line>"
};

// The syscall a line of `strace -f` reports, if it is one that names an address, else "".
// Lines look like "123  connect(...", "[pid 123] connect(...", with or without a -t time.
std::string AddressCall(const std::string& line) {
  static const std::regex kCall(
      R"(^(?:\[pid\s+\d+\]\s+|\d+\s+)?(?:\d\d:\d\d:\d\d(?:\.\d+)?\s+)?(bind|connect|sendto|sendmsg|sendmmsg)\()");
  std::smatch m;
  return std::regex_search(line, m, kCall) ? m[1].str() : "";
}

// The text of every "{sa_family=...}" in `line` outside quoted strings (a payload could hold
// anything), without the braces.
std::vector<std::string> Sockaddrs(const std::string& line) {
  std::vector<std::string> out;
  const std::string open = "{sa_family=";
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    char c = line[i];
    if (quoted) {
      if (c == '\\') ++i;
      else if (c == '"') quoted = false;
      continue;
    }
    if (c == '"') {
      quoted = true;
      continue;
    }
    if (line.compare(i, open.size(), open) != 0) continue;
    std::size_t j = i + 1;
    bool q = false;
    for (; j < line.size(); ++j) {
      if (q) {
        if (line[j] == '\\') ++j;
        else if (line[j] == '"') q = false;
      } else if (line[j] == '"') {
        q = true;
      } else if (line[j] == '}') {
        break;
      }
    }
    out.push_back(line.substr(i + 1, j - i - 1));
    i = j;
  }
  return out;
}

// The first quoted string after `key` in `s`, or "".
std::string QuotedAfter(const std::string& s, const std::string& key) {
  auto k = s.find(key);
  if (k == std::string::npos) return "";
  auto a = s.find('"', k + key.size());
  auto b = a == std::string::npos ? a : s.find('"', a + 1);
  return b == std::string::npos ? "" : s.substr(a + 1, b - a - 1);
}

// Why the address `sa` (the inside of a strace sockaddr) is not local to this machine's unix
// sockets or loopback, or nullopt when it is.
std::optional<std::string> NotLocal(const std::string& call, const std::string& sa) {
  std::string family = sa.substr(std::string("sa_family=").size());
  family = family.substr(0, family.find_first_of(", }"));
  if (family == "AF_UNIX" || family == "AF_LOCAL") return std::nullopt;
  if (family == "AF_INET") {
    std::string ip = QuotedAfter(sa, "inet_addr(");
    if (ip.rfind("127.", 0) == 0) return std::nullopt;
    return "AF_INET address " + (ip.empty() ? "(not decoded)" : ip) + " is not loopback";
  }
  if (family == "AF_INET6") {
    std::string ip = QuotedAfter(sa, "inet_pton(AF_INET6,");
    if (ip == "::1" || ip.rfind("::ffff:127.", 0) == 0) return std::nullopt;
    return "AF_INET6 address " + (ip.empty() ? "(not decoded)" : ip) + " is not loopback";
  }
  // connect() to AF_UNSPEC dissolves an association; it names no peer.
  if (family == "AF_UNSPEC" && call == "connect") return std::nullopt;
  return family + " is neither a unix socket nor loopback";
}

TraceCheck CheckTrace(std::istream& in) {
  TraceCheck check;
  for (std::string line; std::getline(in, line);) {
    if (line.find("execve(") != std::string::npos && line.find("/arbor-node\"") != std::string::npos) {
      ++check.node_execs;
    }
    std::string call = AddressCall(line);
    if (call.empty()) continue;
    std::vector<std::string> addresses = Sockaddrs(line);
    if (addresses.empty() && (call == "bind" || call == "connect")) {
      check.offending.push_back("address not decoded by strace: " + line);
    }
    for (const std::string& sa : addresses) {
      if (std::optional<std::string> why = NotLocal(call, sa)) {
        check.offending.push_back(*why + ": " + line);
      } else if (sa.rfind("sa_family=AF_UNIX", 0) == 0) {
        check.unix_binds += call == "bind";
        check.unix_connects += call == "connect";
      }
    }
  }
  return check;
}

TraceCheck CheckLines(const std::vector<std::string>& lines) {
  std::string all;
  for (const auto& l : lines) all += l + "\n";
  std::istringstream in(all);
  return CheckTrace(in);
}

// ---- The traced controller -----------------------------------------------------------------

std::string FindOnPath(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');) {
    if (!d.empty() && access((d + "/" + name).c_str(), X_OK) == 0) return d + "/" + name;
  }
  return "";
}

// `strace -f ... arbor --history ''` (the embedded default config), driven through pipes like
// ControllerProcess. The destructor leaves nothing running: it ends batch mode, waits for the
// traced tree to exit, and kills by pid whatever is left.
class TracedController {
 public:
  TracedController(const std::string& strace, const std::string& trace_path) : trace_(trace_path) {
    unlink(trace_.c_str());
    std::vector<std::string> args = {strace, "-f", "-qq", "-s", "0", "-o", trace_,
                                     "-e", "trace=execve,bind,connect,sendto,sendmsg,sendmmsg",
                                     "-e", "signal=none", BinDir() + "/arbor", "--history", ""};
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    int in[2], out[2];
    REQUIRE(pipe2(in, O_CLOEXEC) == 0);
    REQUIRE(pipe2(out, O_CLOEXEC) == 0);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    int rv = SpawnUnblocked(&pid_, argv.data(), &fa, environ);
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    in_ = in[1];
    out_ = out[0];
    REQUIRE(rv == 0);
  }

  ~TracedController() {
    CloseInput();
    if (!WaitExit(10s)) {
      // The tree did not go down by itself: kill its nodes (this process is their subreaper
      // if their parents are gone), the controller, then strace.
      if (pid_t ctl = ControllerPid(); ctl > 0) {
        for (pid_t node : NodesOfSession("--session " + std::to_string(ctl) + "-")) kill(node, SIGKILL);
        kill(ctl, SIGKILL);
      }
      kill(pid_, SIGKILL);
      WaitExit(5s);
    }
    if (out_ >= 0) close(out_);
  }

  std::string Command(const std::string& line) {
    std::string l = line + "\n";
    if (write(in_, l.data(), l.size()) != static_cast<ssize_t>(l.size())) return "<write failed>";
    auto deadline = std::chrono::steady_clock::now() + 10s;
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string got = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return got;
      }
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      pollfd p{out_, POLLIN, 0};
      if (left.count() <= 0 || poll(&p, 1, static_cast<int>(left.count())) <= 0) return "<timeout>";
      char buf[4096];
      ssize_t n = read(out_, buf, sizeof buf);
      if (n <= 0) return "<eof>";
      buffer_.append(buf, static_cast<std::size_t>(n));
    }
  }

  void CloseInput() {
    if (in_ >= 0) close(in_);
    in_ = -1;
  }

  // True once strace (and so every traced process) has exited within `timeout`.
  bool WaitExit(std::chrono::milliseconds timeout) {
    if (exited_) return true;
    exited_ = WaitFor([this] {
      int status;
      return waitpid(pid_, &status, WNOHANG) == pid_;
    }, timeout);
    return exited_;
  }

  // The traced controller: the first process in the trace.
  pid_t ControllerPid() const {
    std::ifstream in(trace_);
    pid_t pid = -1;
    in >> pid;
    return pid;
  }

 private:
  std::string trace_;
  pid_t pid_ = -1;
  int in_ = -1;
  int out_ = -1;
  bool exited_ = false;
  std::string buffer_;
};

// Empty when strace can trace here; otherwise why not, as the message a skip prints.
std::string PtraceUnavailable(const std::string& strace) {
  CommandResult probe = RunCommand({strace, "-f", "-o", "/dev/null", "true"}, 10s);
  if (probe.exit_code == 0) return "";
  if (auto at = probe.output.find("Operation not permitted"); at != std::string::npos) {
    auto begin = probe.output.rfind('\n', at);
    begin = begin == std::string::npos ? 0 : begin + 1;
    return "SKIPPED: strace cannot trace here: " +
           probe.output.substr(begin, probe.output.find('\n', at) - begin);
  }
  FAIL("strace fails for another reason than ptrace being forbidden:\n" << probe.output);
  return "";
}

}  // namespace

TEST_CASE("syscalls: the trace check flags any address beyond unix sockets and loopback",
          "[syscalls]") {
  SECTION("a connect to another machine fails the check, with its line") {
    const std::string remote =
        R"(connect(3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("10.0.0.1")}, 16) = 0)";
    TraceCheck c = CheckLines({remote});
    REQUIRE(c.offending.size() == 1);
    CHECK(c.offending[0] == "AF_INET address 10.0.0.1 is not loopback: " + remote);
  }
  SECTION("every strace line form is recognised") {
    for (std::string prefix : {"", "4242  ", "[pid  4242] ", "4242 01:02:03.456789 "}) {
      for (std::string suffix : {" = 0", " = -1 ECONNREFUSED (Connection refused)",
                                        " <unfinished ...>"}) {
        std::string line = prefix +
            R"(connect(7, {sa_family=AF_INET, sin_port=htons(7000), sin_addr=inet_addr("192.168.1.5")}, 16)" +
            suffix;
        INFO(line);
        CHECK(CheckLines({line}).offending.size() == 1);
      }
    }
  }
  SECTION("beyond loopback in every family and call") {
    for (std::string line : {
             R"(bind(3, {sa_family=AF_INET, sin_port=htons(7000), sin_addr=inet_addr("0.0.0.0")}, 16) = 0)",
             R"(connect(3, {sa_family=AF_INET6, sin6_port=htons(443), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "2001:db8::1", &sin6_addr), sin6_scope_id=0}, 28) = 0)",
             R"(bind(3, {sa_family=AF_INET6, sin6_port=htons(0), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::", &sin6_addr), sin6_scope_id=0}, 28) = 0)",
             R"(bind(3, {sa_family=AF_NETLINK, nl_pid=0, nl_groups=00000000}, 12) = 0)",
             R"(connect(3, 0x7ffd5e3c1a20, 16) = -1 EFAULT (Bad address))",
             R"(sendto(3, "", 0, 0, {sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("8.8.8.8")}, 16) = 0)",
             R"(sendmsg(3, {msg_name={sa_family=AF_INET, sin_port=htons(53), sin_addr=inet_addr("1.1.1.1")}, msg_namelen=16, msg_iov=[...], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 0)",
         }) {
      INFO(line);
      CHECK(CheckLines({line}).offending.size() == 1);
    }
  }
  SECTION("unix sockets and loopback pass, and are counted") {
    TraceCheck c = CheckLines({
        R"(9  execve("/b/bin/arbor-node", [...], 0x7ffc /* 40 vars */) = 0)",
        R"(9  bind(11, {sa_family=AF_UNIX, sun_path=@"arbor/1-ab/50"}, 25) = 0)",
        R"(8  connect(11, {sa_family=AF_UNIX, sun_path=@"arbor/1-ab/50"}, 25) = 0)",
        R"(8  connect(12, {sa_family=AF_UNIX, sun_path="/tmp/arbor-1-50.sock"}, 23) = -1 ECONNREFUSED (Connection refused))",
        R"(8  bind(13, {sa_family=AF_UNIX}, 2) = 0)",
        R"(8  connect(3, {sa_family=AF_INET, sin_port=htons(7050), sin_addr=inet_addr("127.0.0.1")}, 16) = 0)",
        R"(8  bind(3, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.3.4.5")}, 16) = 0)",
        R"(8  connect(3, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0)",
        R"(8  connect(3, {sa_family=AF_INET6, sin6_port=htons(80), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::ffff:127.0.0.1", &sin6_addr), sin6_scope_id=0}, 28) = 0)",
        R"(8  connect(3, {sa_family=AF_UNSPEC, sa_data="\0\0\0\0\0\0\0\0\0\0\0\0\0\0"}, 16) = 0)",
        R"(8  sendto(3, "", 0, MSG_NOSIGNAL, NULL, 0) = 0)",
        R"(8  sendmsg(11, {msg_name=NULL, msg_namelen=0, msg_iov=[...], msg_iovlen=1, msg_controllen=0, msg_flags=0}, MSG_NOSIGNAL) = 8)",
        R"(8  <... connect resumed>) = 0)",
    });
    CHECK(c.offending.empty());
    CHECK(c.node_execs == 1);
    CHECK(c.unix_binds == 2);
    CHECK(c.unix_connects == 2);
  }
  SECTION("addresses inside payloads and non-address calls are not addresses") {
    TraceCheck c = CheckLines({
        R"(8  sendmsg(11, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="{sa_family=AF_INET, sin_addr=inet_addr(\"10.0.0.1\")}", iov_len=52}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 52)",
        R"(8  write(1, "connect(3, {sa_family=AF_INET, sin_port=htons(80)}", 50) = 50)",
    });
    CHECK(c.offending.empty());
  }
}

TEST_CASE("syscalls: a default tree binds and connects only to unix sockets and loopback",
          "[syscalls]") {
  std::string strace = FindOnPath("strace");
  if (strace.empty()) {
    const char* ci = std::getenv("CI");
    if (ci != nullptr && std::string(ci) == "true") {
      FAIL("strace is not installed; tools/dev.sh installs it (apt-get install strace)");
    }
    SKIP("SKIPPED: strace is not installed (tools/dev.sh installs it)");
  }
  if (std::string why = PtraceUnavailable(strace); !why.empty()) SKIP(why);

  std::string trace = "/tmp/arbor-syscalls-" + std::to_string(getpid()) + ".trace";
  {
    TracedController arbor(strace, trace);
    for (const char* id : {"50", "30", "70", "20", "40"}) {
      CHECK(arbor.Command(std::string("create ") + id).rfind("Ok: ", 0) == 0);
    }
    CHECK(arbor.Command("exec 20 x 5") == "Ok:20");
    CHECK(arbor.Command("exec 20 x") == "Ok:20: 5");
    CHECK(arbor.Command("exec 40 y") == "Ok:40: 'y' not found");
    CHECK(arbor.Command("ping 70") == "Ok: 1");
    CHECK(arbor.Command("pingall") == "Ok: -1");
    CHECK(arbor.Command("remove 70") == "Ok");
    arbor.CloseInput();
    REQUIRE(arbor.WaitExit(10s));  // strace -f exits once every traced process has
  }

  // A failed run keeps the trace for reading; its path is in the failure message.
  std::ifstream in(trace);
  REQUIRE(in.good());
  TraceCheck c = CheckTrace(in);
  INFO("trace: " << trace);
  for (const std::string& o : c.offending) FAIL_CHECK(o);
  REQUIRE(c.offending.empty());
  // The trace saw what it had to: every node started, listened and was dialled.
  CHECK(c.node_execs == 5);
  CHECK(c.unix_binds >= 5);
  CHECK(c.unix_connects >= 5);
  unlink(trace.c_str());
}
