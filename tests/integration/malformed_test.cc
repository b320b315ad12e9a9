// Bad input of every kind gets one clear error line and loses nothing: not the controller, not
// a node, not a stored value.
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include <signal.h>
#include <sys/wait.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "arbor/batch.h"
#include "arbor/message.h"
#include "processes.h"
#include "raw_wire.h"
#include "tree_helpers.h"

using namespace arbor::testing;

TEST_CASE("malformed commands get one Error line each and change nothing") {
  ControllerProcess c;
  CreateAll(c, {10, 5});
  CHECK(c.Command("exec 10 keep 42") == "Ok:10");
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"create", "Error: usage: create <id> [parent]"},
      {"create x", "Error: invalid node id 'x': ids are 64-bit integers"},
      {"create 1.5", "Error: invalid node id '1.5': ids are 64-bit integers"},
      {"create 99999999999999999999", "Error: invalid node id '99999999999999999999': ids are 64-bit integers"},
      {"create 1 x", "Error: invalid parent id 'x': ids are 64-bit integers"},
      {"create 1 2 3", "Error: usage: create <id> [parent]"},
      {"remove", "Error: usage: remove <id>"},
      {"ping", "Error: usage: ping <id> [-c count [-i ms]]"},
      {"ping 1 2", "Error: usage: ping <id> [-c count [-i ms]]"},
      {"ping 1 -c 0", "Error: invalid count '0': -c takes 1 to 10000 probes"},
      {"ping 1 -c 2 -i 1", "Error: invalid interval '1': -i takes 10 to 60000 ms"},
      {"tree 1", "Error: usage: tree [--dot]"},
      {"pingall 3", "Error: usage: pingall"},
      {"exec", "Error: usage: exec <id> <name> [value]"},
      {"exec 10", "Error: usage: exec <id> <name> [value]"},
      {"exec 10 a 1 2", "Error: usage: exec <id> <name> [value]"},
      {"exec ten a", "Error: invalid node id 'ten': ids are 64-bit integers"},
      {"exec 10 a-b 1", "Error:10: invalid name 'a-b': names are letters and digits only"},
      {"exec 10 a 1.5", "Error:10: invalid value '1.5': not an integer"},
      {"exec 10 a 9223372036854775808", "Error:10: invalid value '9223372036854775808': out of range for a 64-bit signed integer"},
      {"exec 10 a -9223372036854775809", "Error:10: invalid value '-9223372036854775809': out of range for a 64-bit signed integer"},
      {"frobnicate 10", "Error: unknown command 'frobnicate' (type 'help' for the list)"},
      {"EXEC 10 a", "Error: unknown command 'EXEC' (type 'help' for the list)"},
      // Bytes that are not printable are shown escaped: the line stays one line, and input
      // cannot send the terminal control sequences.
      {"\x01\x02\xff garbage", "Error: unknown command '\\x01\\x02\\xff' (type 'help' for the list)"},
      {"\x1b[2J\x1b]0;owned\x07 x", "Error: unknown command '\\x1b[2J\\x1b]0;owned\\x07' (type 'help' for the list)"},
      {std::string("exec 10 a\0b 5", 13), "Error:10: invalid name 'a\\x00b': names are letters and digits only"},
      {"exec 10 a\x1b" "b 5", "Error:10: invalid name 'a\\x1b" "b': names are letters and digits only"},
  };
  for (const auto& [line, expect] : cases) {
    INFO("input: " << line);
    CHECK(c.Command(line) == expect);
  }
  // A huge line: one error, no crash, no split into several commands.
  CHECK(c.Command("exec 10 " + std::string(1 << 20, 'a') + " 1") ==
        "Error: an argument of 1048576 bytes is over the 65536-byte limit");
  // Valid commands near the argument limit, pipelined: together they exceed one message, so
  // the scheduler must split the batch; each command still succeeds.
  std::string script;
  for (int i = 0; i < 40; ++i) {
    script += "exec 10 " + std::string(60000, 'a' + i % 26) + std::to_string(i) + " " +
              std::to_string(i) + (i < 39 ? "\n" : "");
  }
  c.Send(script);
  for (int i = 0; i < 40; ++i) CHECK(c.NextLine(20s) == "Ok:10");
  // Blank lines and comments print nothing; the next command answers normally.
  c.Send("");
  c.Send("   ");
  c.Send("# a comment");
  CHECK(c.Command("exec 10 keep") == "Ok:10: 42");
  CHECK(c.Command("exec 10 a 9223372036854775807") == "Ok:10");
  CHECK(c.Command("exec 10 a") == "Ok:10: 9223372036854775807");
  CHECK(c.Command("pingall") == "Ok: -1");
}

namespace {

// Connects to an abstract socket, writes `bytes`, and waits for the peer to close the
// connection. True when it closed within a few seconds.
bool RawSocketIsDropped(const std::string& abstract_name, const std::string& bytes) {
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path + 1, abstract_name.data(), abstract_name.size());
  socklen_t len = offsetof(sockaddr_un, sun_path) + 1 + abstract_name.size();
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0) {
    close(fd);
    return false;
  }
  timeval tv{3, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  signal(SIGPIPE, SIG_IGN);
  (void)!send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);  // may fail once the peer drops us
  char buf[256];
  bool dropped = false;
  for (int i = 0; i < 100; ++i) {
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) {
      dropped = true;
      break;
    }
    if (n < 0) break;  // timed out: the peer kept the connection open
  }
  close(fd);
  return dropped;
}

}  // namespace

// The controller's peak memory, from /proc (VmHWM, in KiB).
long PeakKiB(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmHWM:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

TEST_CASE("a 100 MB line is refused while it is read, and the next line runs") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});
  REQUIRE(c.Command("create 10").rfind("Ok: ", 0) == 0);
  const std::string chunk(1 << 20, 'x');
  std::string head = "exec 10 a ";
  c.SendRaw(head);
  for (int i = 0; i < 100; ++i) c.SendRaw(chunk);
  c.Send("");
  CHECK(c.NextLine() ==
        "Error: line too long: over 5242880 bytes, more than any command can be; skipped");
  CHECK(c.Command("exec 10 b 1") == "Ok:10");
  CHECK(c.Command("exec 10 a") == "Ok:10: 'a' not found");
  // Bounded by the line limit: the whole line was never held (it took over 400 MB once).
  long peak = PeakKiB(c.pid());
  INFO("controller peak RSS " << peak << " KiB");
  CHECK(peak > 0);
  CHECK(peak < 64 * 1024);
}

TEST_CASE("long lines queued behind a hung node are read ahead only so far") {
  ControllerProcess c({"--config", TestConfig("fast.yaml")});  // deadline 500 ms
  auto pids = CreateAll(c, {10, 5});
  REQUIRE(StopAndWait(pids[5]));
  // 3000 commands of 60 KB each (180 MB) behind one that waits for the deadline: the
  // controller reads ahead 32 MiB of them, not all, while the first waits. (Without that bound
  // its peak was 261 MB at 2000 commands; with it, about 96 MB: batches and answers of 60 KB
  // lines in flight account for the rest.)
  constexpr int kLong = 3000;
  const std::string name(60000, 'n');
  std::jthread writer([&] {
    c.Send("exec 5 first");
    for (int i = 0; i < kLong; ++i) c.Send("exec 5 " + name);
  });
  CHECK(c.NextLine() == "Error:5: Node is unavailable");
  REQUIRE(kill(pids[5], SIGCONT) == 0);
  // Those that travelled in the first one's batch end at its deadline too; the rest answer.
  const std::string expected = "Ok:5: '" + name + "' not found";
  int wrong = 0, answered = 0;
  for (int i = 0; i < kLong; ++i) {
    std::string line = c.NextLine(20s);
    if (line == expected) {
      ++answered;
    } else if (answered > 0 || line != "Error:5: Node is unavailable") {
      if (++wrong <= 3) FAIL_CHECK("line " << i << ": " << line.substr(0, 80));
    }
  }
  CHECK(wrong == 0);
  CHECK(answered > kLong / 2);
  writer.join();
  CHECK(c.Command("exec 10 a 1") == "Ok:10");
  long peak = PeakKiB(c.pid());
  INFO("controller peak RSS " << peak << " KiB");
  CHECK(peak > 0);
  CHECK(peak < 160 * 1024);
}

TEST_CASE("garbage on the wire gets an error reply and the node keeps serving") {
  ControllerProcess c;
  auto pids = CreateAll(c, {10, 5});
  CHECK(c.Command("exec 5 keep 1") == "Ok:5");
  std::string url = "abstract://arbor/" + SessionOf(pids[10]) + "/10";

  arbor::Request good;
  good.id = 77;
  good.target = 5;
  good.budget_ms = 1000;
  good.ops.push_back({"exec", {"keep"}});
  std::string encoded = arbor::EncodeRequest(good);

  std::vector<std::string> garbage = {
      "", "x", std::string(100, '\xff'), encoded.substr(0, encoded.size() - 1), encoded + "tail",
      arbor::EncodeReply(arbor::Reply{})};
  for (const std::string& g : garbage) {
    auto reply = RawExchange(url, g);
    REQUIRE(reply);
    auto decoded = arbor::DecodeReply({reinterpret_cast<const std::uint8_t*>(reply->data()), reply->size()});
    REQUIRE(decoded.ok());
    CHECK(decoded->route.code() == arbor::Code::kInvalidArgument);
    CHECK(decoded->route.message().find("malformed") != std::string::npos);
  }
  // A well-formed request sent directly is routed like any other (through 10 to 5).
  auto reply = RawExchange(url, encoded);
  REQUIRE(reply);
  auto decoded = arbor::DecodeReply({reinterpret_cast<const std::uint8_t*>(reply->data()), reply->size()});
  REQUIRE(decoded.ok());
  REQUIRE(decoded->results.size() == 1);
  CHECK(decoded->results[0].text == "1");
  // Below nng's framing: bytes that are not the SP protocol, a frame header that claims a
  // terabyte, and a real frame over max_message_bytes. Each connection is dropped without
  // allocating, and the node survives all of them.
  std::string name = url.substr(std::string("abstract://").size());
  std::string hello("\0SP\0\0\x30\0\0", 8);  // SP header, protocol req0 (0x30)
  std::string huge_header = hello + std::string("\x01\x00\x00\x01\x00\x00\x00\x00\x00", 9);
  std::string big_frame = hello + std::string("\x01\x00\x00\x00\x00\x00\x20\x00\x00", 9) +
                          std::string(2 << 20, 'z');
  std::mt19937 rng(7);
  std::string noise(4096, '\0');
  for (char& ch : noise) ch = static_cast<char>(rng());
  for (const std::string* bytes : {&noise, &huge_header, &big_frame}) {
    CHECK(RawSocketIsDropped(name, *bytes));
    CHECK(Alive(pids[10]));
  }
  CHECK(c.Command("exec 5 keep") == "Ok:5: 1");
  CHECK(c.Command("pingall") == "Ok: -1");
}

TEST_CASE("garbage batches and collects get an error reply and the node keeps serving") {
  ControllerProcess c;
  auto pids = CreateAll(c, {10, 5, 15});
  CHECK(c.Command("exec 5 keep 1") == "Ok:5");
  std::string url = "abstract://arbor/" + SessionOf(pids[10]) + "/10";
  auto decode = [](const std::optional<std::string>& reply) {
    REQUIRE(reply);
    auto d = arbor::DecodeBatchReply({reinterpret_cast<const std::uint8_t*>(reply->data()), reply->size()});
    REQUIRE(d.ok());
    return std::move(d).value();
  };

  arbor::BatchRequest good;
  good.id = 78;
  good.budget_ms = 1000;
  good.groups.push_back({5, {{"exec", {"keep"}}}, {}});
  good.groups.push_back({15, {{"exec", {"keep"}}, {"exec", {"keep", "2"}}}, {}});
  std::string encoded = arbor::EncodeBatch(good);
  arbor::BatchRequest empty_group = good;
  empty_group.groups[0].ops.clear();
  std::string too_many = encoded.substr(0, 17) + std::string("\xff\xff\xff\x7f", 4);
  std::vector<std::string> garbage = {
      encoded.substr(0, encoded.size() - 1), encoded + "tail", arbor::EncodeBatch({}),
      arbor::EncodeBatch(empty_group), too_many,
      arbor::EncodeCollect({1, 1000, 5}) + "x", arbor::EncodeCollect({1, 1000, 5}).substr(0, 9)};
  for (const std::string& g : garbage) {
    arbor::BatchReply r = decode(RawExchange(url, g));
    CHECK(r.route.code() == arbor::Code::kInvalidArgument);
    CHECK(r.route.message().find("malformed") != std::string::npos);
    CHECK(r.entries.empty());
  }
  // A reply sent as a request is not a request.
  arbor::BatchReply as_request;
  as_request.entries.push_back({0, true, {arbor::Status::Ok(), "x"}});
  auto plain = RawExchange(url, arbor::EncodeBatchReply(as_request));
  REQUIRE(plain);
  auto refused = arbor::DecodeReply({reinterpret_cast<const std::uint8_t*>(plain->data()), plain->size()});
  REQUIRE(refused.ok());
  CHECK(refused->route.code() == arbor::Code::kInvalidArgument);
  // A collect for answers the node does not hold.
  arbor::BatchReply unknown = decode(RawExchange(url, arbor::EncodeCollect({9, 1000, 424242})));
  CHECK(unknown.id == 9);
  CHECK(unknown.route.code() == arbor::Code::kNotFound);
  CHECK(unknown.route.message() ==
        "node 10 holds no answers under token 424242 (collected, expired or dropped)");
  // A well-formed batch sent directly is split and answered like any other: every index once.
  arbor::BatchReply answered = decode(RawExchange(url, encoded));
  CHECK(answered.id == 78);
  CHECK(answered.route.ok());
  CHECK(answered.held == 0);
  std::map<std::uint32_t, std::string> texts;
  for (const arbor::BatchEntry& e : answered.entries) {
    CHECK(e.ran);
    CHECK(e.result.status.ok());
    CHECK(texts.emplace(e.index, e.result.text).second);
  }
  CHECK(texts == std::map<std::uint32_t, std::string>{{0, "1"}, {1, "'keep' not found"}, {2, ""}});
  CHECK(Alive(pids[10]));
  CHECK(c.Command("exec 15 keep") == "Ok:15: 2");
  CHECK(c.Command("pingall") == "Ok: -1");
}

TEST_CASE("a bad config file is refused with file, line and column") {
  struct Case {
    std::string file, expect;
  };
  for (const Case& k : {Case{"bad_unknown_key.yaml", "bad_unknown_key.yaml:5:3: unknown key 'requets_ms'"},
                        Case{"bad_duplicate_key.yaml", "bad_duplicate_key.yaml:4:1: duplicate key 'timeouts'"}}) {
    INFO(k.file);
    ControllerProcess c({"--config", TestConfig(k.file)});
    auto st = c.Wait(10s);
    REQUIRE(st);
    CHECK(WEXITSTATUS(*st) == 2);
    CHECK(c.Stderr().find(k.expect) != std::string::npos);
  }
  ControllerProcess missing({"--config", "/nonexistent/arbor.yaml"});
  auto st = missing.Wait(10s);
  REQUIRE(st);
  CHECK(WEXITSTATUS(*st) != 0);
  CHECK(missing.Stderr().find("/nonexistent/arbor.yaml") != std::string::npos);
}

TEST_CASE("arbor-node run by hand: bad arguments get the usage, a bad config descriptor an error") {
  const std::string out = "/tmp/arbor-node-args-" + std::to_string(getpid()) + ".txt";
  auto run = [&](const std::string& args) {
    std::string cmd = BinDir() + "/arbor-node " + args + " </dev/null >" + out + " 2>&1";
    int st = std::system(cmd.c_str());
    std::ifstream in(out);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return std::make_pair(WIFEXITED(st) ? WEXITSTATUS(st) : -1, text);
  };
  auto [help_rc, help] = run("--help");
  CHECK(help_rc == 0);
  CHECK(help.find("usage: arbor-node --id N --session NAME") != std::string::npos);
  auto [bad_rc, bad] = run("--id 12x --session s");
  CHECK(bad_rc == 2);
  CHECK(bad.find("bad --id '12x'") != std::string::npos);
  // An argument is quoted back escaped: no control byte reaches the terminal.
  auto [esc_rc, esc] = run("--id '1\x1b[2J' --session s");
  CHECK(esc_rc == 2);
  CHECK(esc.find("bad --id '1\\x1b[2J'") != std::string::npos);
  CHECK(esc.find('\x1b') == std::string::npos);
  auto [missing_rc, missing] = run("--id 3");
  CHECK(missing_rc == 2);
  CHECK(missing.find("--id and --session are required") != std::string::npos);
  auto [unknown_rc, unknown] = run("--id 3 --session s --bogus");
  CHECK(unknown_rc == 2);
  CHECK(unknown.find("usage:") != std::string::npos);
  // stdin (/dev/null) is no config: the node says so on its ready line and exits.
  auto [fd_rc, fd] = run("--id 3 --session s --config-fd 0 --ready-fd 1");
  CHECK(fd_rc == 1);
  CHECK(fd.find("error config handoff: not a config of this arbor build") != std::string::npos);
  std::remove(out.c_str());
}
