// Writes the seed corpus of every fuzz target: a handful of small valid inputs each (and a few
// damaged ones where damage has its own rules, as a torn journal), made with the real encoders
// so they stay valid when a format changes. tools/fuzz.sh --corpus runs it; the output is
// committed under tests/fuzz/corpus/<target>/.
//   usage: arbor_fuzz_corpus <source dir> <output dir>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <string>
#include <vector>

#include "arbor/config.h"
#include "arbor/config_handoff.h"
#include "arbor/control.h"
#include "arbor/batch.h"
#include "arbor/message.h"
#include "journal.h"

namespace fs = std::filesystem;

namespace {

fs::path g_out;

void Write(const std::string& target, const std::string& name, const std::string& bytes) {
  fs::create_directories(g_out / target);
  std::ofstream(g_out / target / name, std::ios::binary) << bytes;
}

std::string Read(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

std::string U32(std::uint32_t v) { return std::string(reinterpret_cast<const char*>(&v), 4); }

std::vector<std::pair<std::string, arbor::Request>> Requests() {
  arbor::Request exec{1, 30, 2000, {{"exec", {"x", "5"}}}};
  arbor::Request ping{2, -5, 500, {{"ping", {}}}};
  arbor::Request batch{3, 7, 1999, {{"exec", {"a", "1"}}, {"exec", {"a"}}, {"", {"", "\x00\xff"}}}};
  arbor::Request extreme{std::numeric_limits<std::uint64_t>::max(),
                         std::numeric_limits<arbor::NodeId>::min(),
                         std::numeric_limits<std::uint32_t>::max(),
                         {{"arbor.spawn", {arbor::Encode(arbor::SpawnArgs{9, "h1", "", 0})}}}};
  return {{"exec", exec}, {"ping", ping}, {"batch", batch}, {"extreme", extreme}};
}

void WireSeeds() {
  for (const auto& [name, q] : Requests()) {
    Write("request", name, arbor::EncodeRequest(q));
    Write("wire_header", name, U32(q.budget_ms / 2) + arbor::EncodeRequest(q));
  }
  Write("wire_header", "header_only", U32(1) + arbor::EncodeRequest(Requests()[0].second).substr(0, 25));

  arbor::Reply ok{1, arbor::Status::Ok(), {{arbor::Status::Ok(), "5"}}};
  arbor::Reply down = arbor::RouteFailure(2, arbor::Unavailable("node 30 is down"));
  arbor::Reply mixed{3, arbor::Status::Ok(), {}};
  for (int code = 0; code <= static_cast<int>(arbor::Code::kFailedPrecondition); ++code) {
    arbor::Status s = code == 0 ? arbor::Status::Ok() : arbor::Status(arbor::Code(code), "why");
    mixed.results.push_back({s, code == 0 ? "text" : ""});
  }
  arbor::Reply empty{4, arbor::Status::Ok(), {}};
  Write("reply", "ok", arbor::EncodeReply(ok));
  Write("reply", "route_failure", arbor::EncodeReply(down));
  Write("reply", "every_code", arbor::EncodeReply(mixed));
  Write("reply", "no_results", arbor::EncodeReply(empty));

  // Fenced groups (an epoch and the first operation's number) beside an unfenced one.
  arbor::BatchRequest many{5, 2000, {{30, {{"exec", {"x", "5"}}, {"exec", {"x"}}}, {1765000000, 1}},
                                     {-7, {{"ping", {}}}, {}},
                                     {30, {{"arbor.info", {"limits"}}}, {1765000000, 3}}}};
  arbor::BatchRequest one{6, 1, {{1, {{"", {"", "\x00\xff"}}}, {}}}};
  // The largest number a group may start at.
  arbor::BatchRequest last{8, 1, {{2, {{"exec", {"k"}}}, {UINT64_MAX, UINT64_MAX}}}};
  Write("batch", "last_seq", arbor::EncodeBatch(last));
  Write("batch", "many_targets", arbor::EncodeBatch(many));
  Write("batch", "one_target", arbor::EncodeBatch(one));
  Write("batch", "collect", arbor::EncodeCollect({7, 1500, 3}));
  arbor::BatchReply part{5, arbor::Status::Ok(), 3, {}};
  part.entries.push_back({0, true, {arbor::Status::Ok(), "5"}});
  part.entries.push_back({2, false, {arbor::Unavailable("node 30 did not answer"), {}}});
  part.entries.push_back({1, true, {arbor::InvalidArgument("bad name"), {}}});
  arbor::BatchReply refused{6, arbor::NotFound("no answers under token 3"), 0, {}};
  Write("batch_reply", "partial", arbor::EncodeBatchReply(part));
  Write("batch_reply", "refused", arbor::EncodeBatchReply(refused));
}

void ControlSeeds() {
  Write("control", "spawn", arbor::Encode(arbor::SpawnArgs{30, "h1", "tcp://10.0.0.1:7030", 42}));
  Write("control", "spawned", arbor::Encode(arbor::SpawnedReply{1234}));
  Write("control", "adopt", arbor::Encode(arbor::AdoptArgs{5, "abstract://arbor/s/5", 99, ""}));
  Write("control", "attach", arbor::Encode(arbor::AttachArgs{"0123456789abcdef", 10, "h2"}));
  Write("control", "identity", arbor::Encode(arbor::Identity{10, 77, "h2", "0123456789abcdef"}));
  Write("control", "node_id", arbor::EncodeNodeId(-3));
  arbor::SweepEntry root{20, 100, "", {{10, "up", 0, 101, ""}, {30, "restarting", 2, 0, "h1"}}};
  arbor::SweepEntry leaf{10, 101, "", {}};
  Write("control", "sweep", arbor::Encode(root) + arbor::Encode(leaf));
}

void ConfigSeeds(const fs::path& src) {
  arbor::Config plain;
  Write("config_handoff", "default", arbor::EncodeConfig(plain));
  for (const char* name : {"configs/hosts-loopback.yaml", "configs/tree7.yaml",
                           "tests/configs/restart.yaml"}) {
    arbor::Result<arbor::Config> c = arbor::LoadConfigFile((src / name).string());
    if (!c.ok()) {
      std::fprintf(stderr, "%s\n", c.status().ToString().c_str());
      std::exit(1);
    }
    Write("config_handoff", fs::path(name).stem().string(), arbor::EncodeConfig(*c));
  }
  arbor::Config tiny;
  tiny.plugins = {{"dictionary", "", {{"durability", "flush"}}}};
  tiny.plugin_path.clear();
  Write("config_handoff", "tiny.hex", arbor::ConfigToHex(tiny));

  for (const char* name : {"configs/default.yaml", "configs/hosts-loopback.yaml",
                           "configs/tree7.yaml", "tests/configs/restart_fsync.yaml",
                           "tests/configs/bad_duplicate_key.yaml",
                           "tests/configs/bad_unknown_key.yaml"}) {
    Write("config_yaml", fs::path(name).filename().string(), Read(src / name));
  }
}

void CommandSeeds() {
  const char* lines[] = {"create 5", "create 7 5", "remove -3", "ping 9", "ping 9 -c 3 -i 10",
                         "pingall", "tree --dot", "info 20", "exec 10 MyVar 5", "exec 10 MyVar",
                         "mset 1 a 1 b 2", "touch 3", "  help\t", "quit", "# a comment"};
  int i = 0;
  for (const char* line : lines) Write("command", "line" + std::to_string(i++), line);
}

// A journal seed: flags, u16 snapshot length, snapshot, journal (journal_fuzz.cc).
std::string JournalInput(std::uint8_t flags, const std::string& snapshot, const std::string& journal) {
  std::string s(1, static_cast<char>(flags));
  s.push_back(static_cast<char>(snapshot.size() & 0xff));
  s.push_back(static_cast<char>(snapshot.size() >> 8));
  return s + snapshot + journal;
}

void JournalSeeds() {
  char tmpl[] = "/tmp/arbor-corpus-XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) std::exit(1);
  const fs::path dir = tmpl;
  dictionary::Map values;
  {
    auto j = dictionary::Journal::Open(dir.string(), dictionary::Durability::kFlush, 3, &values);
    for (auto [name, v] : {std::pair{"a", 1}, {"bb", -2}, {"a", 3}}) {
      (void)j.value()->Append(name, v);
      values[name] = v;
    }
  }
  const std::string journal = Read(dir / "journal");
  Write("journal", "journal_only", JournalInput(2, "", journal));
  Write("journal", "torn_tail", JournalInput(2, "", journal.substr(0, journal.size() - 5)));
  std::string flipped = journal;
  flipped[10] ^= 1;  // the first record's payload: a valid record follows, so corrupt
  Write("journal", "corrupt_middle", JournalInput(2, "", flipped));
  Write("journal", "repaired", JournalInput(2 | 4, "", flipped));
  {
    auto j = dictionary::Journal::Open(dir.string(), dictionary::Durability::kFlush, 3, &values);
    j.value()->Compact(values);
    (void)j.value()->Append("c", 4);
  }
  Write("journal", "snapshot_and_journal",
        JournalInput(1 | 2 | 8, Read(dir / "snapshot"), Read(dir / "journal")));
  Write("journal", "snapshot_only", JournalInput(1, Read(dir / "snapshot"), ""));
  fs::remove_all(dir);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s <source dir> <output dir>\n", argv[0]);
    return 2;
  }
  g_out = argv[2];
  WireSeeds();
  ControlSeeds();
  ConfigSeeds(argv[1]);
  CommandSeeds();
  JournalSeeds();
  return 0;
}
