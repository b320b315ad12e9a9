// The dictionary's `durability` option: the real plugin, loaded from the build tree and driven
// through the node's Dispatcher, with its files in a fresh directory under /tmp per test. A
// "restart" is destroying the instance and creating a new one on the same data_dir, which is
// what a node killed with kill -9 and started again does (the files are all that is left).
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "arbor/plugin_loader.h"
#include "arbor/dispatcher.h"

namespace arbor {
namespace {

namespace fs = std::filesystem;
using Options = std::map<std::string, std::string>;

const std::string kDictionary = std::string(ARBOR_PLUGIN_DIR) + "/libarbor_dictionary.so";
constexpr NodeId kNodeId = 7;

// A fresh directory under /tmp, removed with everything in it when the test ends. The node's
// data_dir is a subdirectory that does not exist yet, as on a node's first start.
struct TempDir {
  TempDir() {
    char name[] = "/tmp/arbor-dict-test-XXXXXX";
    REQUIRE(::mkdtemp(name) != nullptr);
    root = name;
    data_dir = root + "/data/node-7";
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(root, ec);
  }
  std::string journal() const { return data_dir + "/journal"; }
  std::string snapshot() const { return data_dir + "/snapshot"; }
  std::string root;
  std::string data_dir;
};

LoadedPlugin Load() {
  Result<LoadedPlugin> p = LoadPlugin(kDictionary);
  INFO(p.status().ToString());
  REQUIRE(p.ok());
  return std::move(p).value();
}

Result<std::shared_ptr<Plugin>> Make(const Options& options, const std::string& data_dir) {
  PluginContext context;
  context.node_id = kNodeId;
  context.options = options;
  context.data_dir = data_dir;
  return Load().Create(context);
}

// One dictionary instance served by a Dispatcher, as a node serves it.
struct Instance {
  Instance(const Options& options, const std::string& data_dir) : dispatcher(kNodeId) {
    LoadedPlugin p = Load();
    PluginContext context;
    context.node_id = kNodeId;
    context.options = options;
    context.data_dir = data_dir;
    Result<std::shared_ptr<Plugin>> made = p.Create(context);
    INFO(made.status().ToString());
    REQUIRE(made.ok());
    plugin = *made;
    for (const VerbInfo& v : p.verbs()) dispatcher.Add(v, plugin);
  }
  OpResult Exec(std::vector<std::string> args) const {
    return dispatcher.Run(Op{"exec", std::move(args)});
  }
  // A one-operation request as the node runs it: the operation, then Sync before the reply.
  Status Set(const std::string& name, const std::string& value) const {
    OpResult r = Exec({name, value});
    if (!r.status.ok()) return r.status;
    return plugin->Sync();
  }
  // The value's text, "'name' not found", or "error: <message>".
  std::string Get(const std::string& name) const {
    OpResult r = Exec({name});
    return r.status.ok() ? r.text : "error: " + r.status.message();
  }
  std::shared_ptr<Plugin> plugin;
  Dispatcher dispatcher;
};

void RequireOk(const Status& s) {
  INFO(s.ToString());
  REQUIRE(s.ok());
}

std::string ReadBytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in.good());
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

void WriteBytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
  REQUIRE(out.good());
}

void FlipByte(const std::string& path, std::size_t at) {
  std::string bytes = ReadBytes(path);
  REQUIRE(at < bytes.size());
  bytes[at] = static_cast<char>(bytes[at] ^ 0x40);
  WriteBytes(path, bytes);
}

// The size of one journal record for a name of `name_len` bytes: header, name_len, name, value.
constexpr std::size_t RecordSize(std::size_t name_len) {
  return 4 + 4 + 4 + name_len + 8;
}

// An independent, bitwise CRC32, to pin the on-disk format without trusting the plugin's.
std::uint32_t BitwiseCrc32(const std::string& data) {
  std::uint32_t crc = 0xFFFFFFFFu;
  for (unsigned char b : data) {
    crc ^= b;
    for (int k = 0; k < 8; ++k) crc = (crc >> 1) ^ (0xEDB88320u & (0u - (crc & 1u)));
  }
  return ~crc;
}

std::string Le32(std::uint32_t v) {
  std::string s;
  for (int i = 0; i < 4; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return s;
}
std::string Le64(std::uint64_t v) {
  std::string s;
  for (int i = 0; i < 8; ++i) s.push_back(static_cast<char>((v >> (8 * i)) & 0xFF));
  return s;
}

const std::string kMax = std::to_string(std::numeric_limits<std::int64_t>::max());
const std::string kMin = std::to_string(std::numeric_limits<std::int64_t>::min());

TEST_CASE("dictionary durability: none is the default, writes no files and does not block") {
  TempDir dir;
  for (const Options& options : {Options{}, Options{{"durability", "none"}}}) {
    Instance node(options, dir.data_dir);
    RequireOk(node.Set("a", "1"));
    CHECK(node.Get("a") == "1");
    RequireOk(node.plugin->Sync());
    CHECK_FALSE(node.plugin->Blocking());
    CHECK_FALSE(node.dispatcher.Blocking(Op{"exec", {"a"}}));
  }
  CHECK_FALSE(fs::exists(dir.root + "/data"));
  // And a restart forgets, as it always did.
  Instance again(Options{}, dir.data_dir);
  CHECK(again.Get("a") == "'a' not found");
}

TEST_CASE("dictionary durability: flush and fsync block, none does not") {
  TempDir dir;
  for (const char* mode : {"flush", "fsync"}) {
    INFO("durability " << mode);
    Instance node({{"durability", mode}}, dir.data_dir + "-" + mode);
    CHECK(node.plugin->Blocking());
    CHECK(node.dispatcher.Blocking(Op{"exec", {"a"}}));
    CHECK(node.dispatcher.Blocking(Op{"exec", {"a", "1"}}));
  }
}

TEST_CASE("dictionary durability: values survive restarts") {
  const std::string mode = GENERATE(as<std::string>{}, "flush", "fsync");
  INFO("durability " << mode);
  TempDir dir;
  const Options options{{"durability", mode}};
  {
    Instance node(options, dir.data_dir);
    CHECK(node.Get("x") == "'x' not found");
    RequireOk(node.plugin->Sync());  // nothing to sync yet: still OK
    for (const char* v : {"1", "2", "3"}) RequireOk(node.Set("x", v));  // the last one wins
    RequireOk(node.Set("neg", "-42"));
    RequireOk(node.Set("zero", "0"));
    RequireOk(node.Set("max", kMax));
    RequireOk(node.Set("min", kMin));
    // Several sets in one request, then one Sync: the runtime's group commit.
    CHECK(node.Exec({"batch1", "10"}).status.ok());
    CHECK(node.Exec({"batch2", "20"}).status.ok());
    CHECK(node.Exec({"batch1", "11"}).status.ok());
    RequireOk(node.plugin->Sync());
    RequireOk(node.plugin->Sync());  // nothing new: still OK
    // A refused set writes nothing.
    CHECK(node.Exec({"x", "abc"}).status.code() == Code::kInvalidArgument);
    CHECK(node.Exec({"bad-name", "1"}).status.code() == Code::kInvalidArgument);
  }
  CHECK(fs::exists(dir.journal()));
  CHECK_FALSE(fs::exists(dir.snapshot()));  // compact_every is 10000 by default
  // x three times; neg, max, min; zero; batch1 twice and batch2: one record per accepted set.
  CHECK(fs::file_size(dir.journal()) ==
        3 * RecordSize(1) + 3 * RecordSize(3) + RecordSize(4) + 3 * RecordSize(6));
  struct stat st {};
  REQUIRE(::stat(dir.data_dir.c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0700);

  {
    Instance node(options, dir.data_dir);
    CHECK(node.Get("x") == "3");
    CHECK(node.Get("neg") == "-42");
    CHECK(node.Get("zero") == "0");
    CHECK(node.Get("max") == kMax);
    CHECK(node.Get("min") == kMin);
    CHECK(node.Get("batch1") == "11");
    CHECK(node.Get("batch2") == "20");
    CHECK(node.Get("bad") == "'bad' not found");
    // Sets after a restart append to what was loaded.
    RequireOk(node.Set("x", "4"));
    RequireOk(node.Set("later", "5"));
  }
  Instance node(options, dir.data_dir);
  CHECK(node.Get("x") == "4");
  CHECK(node.Get("later") == "5");
  CHECK(node.Get("min") == kMin);
}

TEST_CASE("dictionary durability: the journal record format is fixed") {
  TempDir dir;
  {
    Instance node({{"durability", "flush"}}, dir.data_dir);
    RequireOk(node.Set("MyVar", "5"));
    RequireOk(node.Set("n", "-1"));
  }
  const std::string p1 = Le32(5) + "MyVar" + Le64(5);
  const std::string p2 = Le32(1) + "n" + Le64(~std::uint64_t{0});
  const std::string expected =
      Le32(static_cast<std::uint32_t>(p1.size())) + Le32(BitwiseCrc32(p1)) + p1 +
      Le32(static_cast<std::uint32_t>(p2.size())) + Le32(BitwiseCrc32(p2)) + p2;
  CHECK(ReadBytes(dir.journal()) == expected);
}

TEST_CASE("dictionary durability: a 64 KiB name is journaled and loaded") {
  TempDir dir;
  const std::string name(64 * 1024, 'a');  // the wire's limit: more than a u16 length holds
  {
    Instance node({{"durability", "fsync"}}, dir.data_dir);
    RequireOk(node.Set(name, "9"));
  }
  Instance node({{"durability", "fsync"}}, dir.data_dir);
  CHECK(node.Get(name) == "9");
}

TEST_CASE("dictionary durability: compaction writes a snapshot and empties the journal") {
  const std::string mode = GENERATE(as<std::string>{}, "flush", "fsync");
  INFO("durability " << mode);
  TempDir dir;
  const Options options{{"durability", mode}, {"compact_every", "5"}};
  std::map<std::string, std::string> expected;
  {
    Instance node(options, dir.data_dir);
    for (int i = 0; i < 23; ++i) {
      std::string name = "k" + std::to_string(i % 7);  // overwrites across compactions
      std::string value = std::to_string(i * 1000 - 5000);
      RequireOk(node.Set(name, value));
      expected[name] = value;
    }
    // Compactions after sets 5, 10, 15 and 20: three records are left in the journal.
    CHECK(fs::exists(dir.snapshot()));
    CHECK_FALSE(fs::exists(dir.data_dir + "/snapshot.tmp"));
    CHECK(fs::file_size(dir.journal()) == 3 * RecordSize(2));
    CHECK(ReadBytes(dir.snapshot()).substr(0, 8) == "arbordic");
    for (const auto& [name, value] : expected) CHECK(node.Get(name) == value);
  }
  {
    Instance node(options, dir.data_dir);
    for (const auto& [name, value] : expected) CHECK(node.Get(name) == value);
    RequireOk(node.Set("k0", "77"));  // a fourth record: no compaction yet
    RequireOk(node.Set("k1", "78"));  // the fifth: compaction, journal empty
    CHECK(fs::file_size(dir.journal()) == 0);
  }
  Instance node(options, dir.data_dir);
  expected["k0"] = "77";
  expected["k1"] = "78";
  for (const auto& [name, value] : expected) CHECK(node.Get(name) == value);
}

TEST_CASE("dictionary durability: a torn last record is dropped and the journal goes on") {
  struct Tear {
    const char* what;
    bool keeps_c;  // whether the third record survives the damage
  };
  const Tear tear =
      GENERATE(Tear{"cut 3 bytes off the end", false}, Tear{"cut into the last header", false},
               Tear{"flip the last byte", false}, Tear{"append half a header", true},
               Tear{"append 4 KiB of zeros", true}, Tear{"append a record cut short", true});
  INFO(tear.what);
  TempDir dir;
  const Options options{{"durability", "fsync"}};
  {
    Instance node(options, dir.data_dir);
    RequireOk(node.Set("a", "1"));
    RequireOk(node.Set("b", "-2"));
    RequireOk(node.Set("c", "3"));
  }
  const std::string whole = ReadBytes(dir.journal());
  REQUIRE(whole.size() == 3 * RecordSize(1));
  const std::string what = tear.what;
  std::string torn = whole;
  if (what == "cut 3 bytes off the end") torn.resize(whole.size() - 3);
  if (what == "cut into the last header") torn.resize(2 * RecordSize(1) + 5);
  if (what == "flip the last byte") torn.back() = static_cast<char>(torn.back() ^ 1);
  if (what == "append half a header") torn += std::string("\x15\x00\x00", 3);
  if (what == "append 4 KiB of zeros") torn += std::string(4096, '\0');
  if (what == "append a record cut short") torn += whole.substr(0, RecordSize(1) - 4);
  WriteBytes(dir.journal(), torn);

  const std::size_t good = (tear.keeps_c ? 3 : 2) * RecordSize(1);
  {
    Instance node(options, dir.data_dir);
    CHECK(node.Get("a") == "1");
    CHECK(node.Get("b") == "-2");
    CHECK(node.Get("c") == (tear.keeps_c ? "3" : "'c' not found"));
    // Cut back to the last good record, so that new records follow valid data.
    CHECK(fs::file_size(dir.journal()) == good);
    RequireOk(node.Set("d", "4"));
    RequireOk(node.Set("a", "5"));
  }
  Instance node(options, dir.data_dir);
  CHECK(node.Get("a") == "5");
  CHECK(node.Get("b") == "-2");
  CHECK(node.Get("c") == (tear.keeps_c ? "3" : "'c' not found"));
  CHECK(node.Get("d") == "4");
  CHECK(fs::file_size(dir.journal()) == good + 2 * RecordSize(1));
}

TEST_CASE("dictionary durability: corruption in the middle of the journal loads nothing") {
  struct Damage {
    const char* what;
    std::size_t at;        // the byte changed
    std::size_t reported;  // the offset the error names: the start of the bad record
  };
  constexpr std::size_t kRecord = RecordSize(2);
  const Damage damage =
      GENERATE(Damage{"a name byte of the first record", 12, 0},
               Damage{"a value byte of the second record", kRecord + 16, kRecord},
               Damage{"the checksum of the third record", 2 * kRecord + 5, 2 * kRecord},
               Damage{"the length of the first record", 2, 0});
  INFO(damage.what);
  TempDir dir;
  const Options options{{"durability", "fsync"}};
  {
    Instance node(options, dir.data_dir);
    for (int i = 0; i < 5; ++i) RequireOk(node.Set("k" + std::to_string(i), std::to_string(i)));
  }
  FlipByte(dir.journal(), damage.at);
  const std::string before = ReadBytes(dir.journal());

  Instance node(options, dir.data_dir);  // Create succeeds
  for (const char* name : {"k0", "k4", "never"}) {
    OpResult get = node.Exec({name});
    CHECK(get.status.code() == Code::kFailedPrecondition);
    CHECK_THAT(get.status.message(), Catch::Contains(dir.journal()));
    CHECK_THAT(get.status.message(), Catch::Contains("corrupt"));
    CHECK_THAT(get.status.message(),
               Catch::Contains("at byte " + std::to_string(damage.reported) + " ("));
    CHECK_THAT(get.status.message(), Catch::Contains("nothing was loaded"));
    CHECK_THAT(get.status.message(), Catch::Contains("move it aside"));
  }
  OpResult set = node.Exec({"k9", "9"});
  CHECK(set.status.code() == Code::kFailedPrecondition);
  CHECK_THAT(set.status.message(), Catch::Contains("corrupt"));
  CHECK_FALSE(node.plugin->Sync().ok());
  CHECK(node.Exec({"bad-name", "x"}).status.code() == Code::kFailedPrecondition);
  // Nothing was written: the evidence is intact.
  CHECK(ReadBytes(dir.journal()) == before);
  CHECK_FALSE(fs::exists(dir.snapshot()));
}

// A crafted journal once cost a CRC over up to 1 MiB at every byte offset after the damage
// (about 90 s for 512 KiB), and was then judged a torn last record and truncated to nothing.
// In the repeating pattern below, three offsets in four read as a plausible record length.
std::string PlausibleLengths(std::size_t bytes) {
  std::string out;
  while (out.size() < bytes) out += std::string("\x00\x00\x10\x00", 4);
  out.resize(bytes);
  return out;
}

TEST_CASE("dictionary durability: damage longer than one record is corruption, never truncated") {
  const std::size_t tail = GENERATE(std::size_t{512} * 1024, std::size_t{60} * 1024);
  INFO("crafted bytes after two good records: " << tail);
  TempDir dir;
  const Options options{{"durability", "fsync"}};
  {
    Instance node(options, dir.data_dir);
    RequireOk(node.Set("a", "1"));
    RequireOk(node.Set("b", "2"));
  }
  WriteBytes(dir.journal(), ReadBytes(dir.journal()) + PlausibleLengths(tail));
  const std::string before = ReadBytes(dir.journal());

  Instance node(options, dir.data_dir);  // comes up at once; the ctest timeout would catch a crawl
  OpResult get = node.Exec({"a"});
  CHECK(get.status.code() == Code::kFailedPrecondition);
  CHECK_THAT(get.status.message(), Catch::Contains("corrupt"));
  CHECK_THAT(get.status.message(),
             Catch::Contains("at byte " + std::to_string(2 * RecordSize(1)) + " ("));
  CHECK_THAT(get.status.message(), Catch::Contains(tail > 64 * 1024
                                                       ? "more than one record"
                                                       : "not the tail of one record"));
  // Nothing was cut off: the evidence, and the two acknowledged sets in it, are intact.
  CHECK(ReadBytes(dir.journal()) == before);
}

TEST_CASE("dictionary durability: a corrupt snapshot loads nothing") {
  const std::string damage = GENERATE(as<std::string>{}, "flip a body byte", "flip a header byte",
                                      "cut the last byte", "bad magic", "empty file");
  INFO(damage);
  TempDir dir;
  const Options options{{"durability", "flush"}, {"compact_every", "3"}};
  {
    Instance node(options, dir.data_dir);
    for (int i = 0; i < 4; ++i) RequireOk(node.Set("k" + std::to_string(i), std::to_string(i)));
  }
  std::string snapshot = ReadBytes(dir.snapshot());
  REQUIRE(snapshot.size() > 40);
  if (damage == "flip a body byte") snapshot[snapshot.size() - 3] ^= 0x01;
  if (damage == "flip a header byte") snapshot[13] ^= 0x01;  // the entry count
  if (damage == "cut the last byte") snapshot.pop_back();
  if (damage == "bad magic") snapshot[0] = 'X';
  if (damage == "empty file") snapshot.clear();
  WriteBytes(dir.snapshot(), snapshot);
  const std::string journal = ReadBytes(dir.journal());
  REQUIRE(journal.size() == RecordSize(2));  // k3, after the compaction at 3

  Instance node(options, dir.data_dir);
  OpResult get = node.Exec({"k0"});
  CHECK(get.status.code() == Code::kFailedPrecondition);
  CHECK_THAT(get.status.message(), Catch::Contains("dictionary snapshot " + dir.snapshot()));
  CHECK_THAT(get.status.message(), Catch::Contains("corrupt at byte"));
  CHECK_THAT(get.status.message(), Catch::Contains("nothing was loaded"));
  CHECK(node.Exec({"k3"}).status.code() == Code::kFailedPrecondition);
  for (int i = 0; i < 5; ++i) CHECK_FALSE(node.Exec({"n" + std::to_string(i), "1"}).status.ok());
  CHECK(ReadBytes(dir.snapshot()) == snapshot);
  CHECK(ReadBytes(dir.journal()) == journal);
}

TEST_CASE("dictionary durability: a leftover snapshot.tmp is ignored and removed") {
  TempDir dir;
  const Options options{{"durability", "fsync"}, {"compact_every", "2"}};
  {
    Instance node(options, dir.data_dir);
    for (int i = 0; i < 3; ++i) RequireOk(node.Set("k" + std::to_string(i), std::to_string(i)));
  }
  WriteBytes(dir.data_dir + "/snapshot.tmp", "half a compaction");
  Instance node(options, dir.data_dir);
  for (int i = 0; i < 3; ++i) CHECK(node.Get("k" + std::to_string(i)) == std::to_string(i));
  CHECK_FALSE(fs::exists(dir.data_dir + "/snapshot.tmp"));
}

TEST_CASE("dictionary durability: bad options make Create fail, naming the option") {
  TempDir dir;
  struct Bad {
    Options options;
    std::vector<std::string> fragments;
  };
  const std::vector<Bad> bad = {
      {{{"durability", "maybe"}}, {"'durability'", "'maybe'", "none, flush or fsync"}},
      {{{"durability", ""}}, {"'durability'", "''"}},
      {{{"durability", "FSYNC"}}, {"'durability'", "'FSYNC'"}},
      {{{"durability", "fsync"}, {"compact_every", "x"}}, {"'compact_every'", "'x'"}},
      {{{"durability", "fsync"}, {"compact_every", "0"}}, {"'compact_every'", "positive"}},
      {{{"durability", "fsync"}, {"compact_every", "-5"}}, {"'compact_every'", "'-5'"}},
      {{{"compact_every", "10 "}}, {"'compact_every'", "'10 '"}},
      {{{"compact_every", "99999999999999999999999"}}, {"'compact_every'"}},
      {{{"durability", "fsync"}, {"durabilty", "fsync"}}, {"unknown option 'durabilty'"}},
      {{{"capacity", "10"}}, {"unknown option 'capacity'", "dictionary"}},
  };
  for (const Bad& b : bad) {
    Result<std::shared_ptr<Plugin>> made = Make(b.options, dir.data_dir);
    REQUIRE_FALSE(made.ok());
    CHECK(made.status().code() == Code::kInvalidArgument);
    for (const std::string& f : b.fragments)
      CHECK_THAT(made.status().message(), Catch::Contains(f));
  }
  CHECK_FALSE(fs::exists(dir.root + "/data"));
  // The same keys with good values are accepted.
  CHECK(Make({{"durability", "none"}, {"compact_every", "1"}}, "").ok());
  CHECK(Make({{"durability", "flush"}, {"compact_every", "100"}}, dir.data_dir).ok());
}

TEST_CASE("dictionary durability: flush and fsync need a data_dir") {
  for (const char* mode : {"flush", "fsync"}) {
    Result<std::shared_ptr<Plugin>> made = Make({{"durability", mode}}, "");
    REQUIRE_FALSE(made.ok());
    CHECK(made.status().code() == Code::kInvalidArgument);
    // The loader puts the plugin's name and path in front of the factory's message.
    CHECK_THAT(made.status().message(),
               Catch::EndsWith(std::string("durability '") + mode +
                               "' needs a data_dir in the deployment config"));
  }
  CHECK(Make({{"durability", "none"}}, "").ok());
}

TEST_CASE("dictionary durability: one data_dir serves one instance at a time") {
  TempDir dir;
  const Options options{{"durability", "flush"}};
  {
    Instance first(options, dir.data_dir);
    RequireOk(first.Set("a", "1"));
    Result<std::shared_ptr<Plugin>> second = Make(options, dir.data_dir);
    REQUIRE_FALSE(second.ok());
    CHECK_THAT(second.status().message(), Catch::Contains(dir.data_dir));
    CHECK_THAT(second.status().message(), Catch::Contains("in use"));
  }
  Instance after(options, dir.data_dir);  // the first is gone, and with it its lock
  CHECK(after.Get("a") == "1");
}

TEST_CASE("dictionary durability: concurrent sets and syncs lose nothing") {
  TempDir dir;
  // A small compact_every makes compactions run while other threads append and sync.
  const Options options{{"durability", "fsync"}, {"compact_every", "97"}};
  constexpr int kThreads = 4;
  constexpr int kSets = 500;
  constexpr int kBatch = 5;  // fdatasync costs milliseconds here: keep the test short
  auto name = [](int t, int i) { return "t" + std::to_string(t) + "k" + std::to_string(i); };
  auto value = [](int t, int i) { return std::to_string(std::int64_t{t} * -1000003 + i); };
  {
    Instance node(options, dir.data_dir);
    std::atomic<int> failures{0};
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        // Requests of kBatch sets each, as the runtime runs them: every set, then one Sync,
        // while the other threads append and sync. A Sync may find its records already
        // synced by another thread's; it must still not return before they are on disk.
        for (int i = 0; i < kSets; i += kBatch) {
          for (int j = i; j < i + kBatch; ++j) {
            if (!node.Exec({name(t, j), value(t, j)}).status.ok()) failures.fetch_add(1);
          }
          if (!node.plugin->Sync().ok()) failures.fetch_add(1);
          if (node.Get(name(t, i / 2)) != value(t, i / 2)) failures.fetch_add(1);
        }
      });
    }
    for (std::thread& th : threads) th.join();
    CHECK(failures.load() == 0);
  }
  CHECK(fs::exists(dir.snapshot()));
  Instance node(options, dir.data_dir);
  int wrong = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kSets; ++i) wrong += node.Get(name(t, i)) != value(t, i) ? 1 : 0;
  }
  CHECK(wrong == 0);
}

TEST_CASE("dictionary limits: max_keys refuses new names and keeps what is stored") {
  const std::string durability = GENERATE(as<std::string>{}, "none", "fsync");
  INFO("durability " << durability);
  TempDir dir;
  const Options options{{"durability", durability}, {"max_keys", "3"}};
  {
    Instance node(options, dir.data_dir);
    RequireOk(node.Set("a", "1"));
    RequireOk(node.Set("b", "2"));
    RequireOk(node.Set("c", "3"));
    OpResult full = node.Exec({"d", "4"});
    CHECK(full.status.code() == Code::kFailedPrecondition);
    CHECK(full.status.message() == "dictionary full (3 keys)");
    RequireOk(node.Set("a", "10"));  // an overwrite takes no room
    CHECK(node.Get("a") == "10");
    CHECK(node.Get("b") == "2");
    CHECK(node.Get("c") == "3");
    CHECK(node.Get("d") == "'d' not found");
  }
  if (durability == "none") return;
  // After a restart the store counts what it loaded: still full, nothing lost.
  Instance node(options, dir.data_dir);
  CHECK(node.Exec({"e", "5"}).status.message() == "dictionary full (3 keys)");
  CHECK(node.Get("a") == "10");
  CHECK(node.Get("c") == "3");
}

TEST_CASE("dictionary limits: max_bytes counts the names") {
  TempDir dir;
  // Two 100-byte names fit in 400 bytes with their overhead; a third does not.
  const Options options{{"max_bytes", "400"}};
  Instance node(options, dir.data_dir);
  RequireOk(node.Set(std::string(100, 'a'), "1"));
  RequireOk(node.Set(std::string(100, 'b'), "2"));
  OpResult full = node.Exec({std::string(100, 'c'), "3"});
  CHECK(full.status.code() == Code::kFailedPrecondition);
  CHECK(full.status.message() == "dictionary full (2 keys, max_bytes 400)");
  CHECK(node.Get(std::string(100, 'a')) == "1");
  RequireOk(node.Set("x", "4"));  // a short name still fits
}

TEST_CASE("dictionary limits: bad max_keys and max_bytes make Create fail") {
  TempDir dir;
  for (const Options& options : {Options{{"max_keys", "0"}}, Options{{"max_keys", "-1"}},
                                 Options{{"max_bytes", "lots"}}}) {
    Result<std::shared_ptr<Plugin>> made = Make(options, dir.data_dir);
    REQUIRE_FALSE(made.ok());
    CHECK_THAT(made.status().message(), Catch::Contains("is a positive integer"));
  }
}

// A tmpfs of `bytes` mounted on `dir` for the test's life. Needs root (CI runs as root).
struct SmallDisk {
  SmallDisk(const std::string& dir, std::size_t bytes) : dir(dir) {
    fs::create_directories(dir);
    std::string options = "size=" + std::to_string(bytes) + ",mode=0700";
    mounted = ::mount("arbor-test", dir.c_str(), "tmpfs", 0, options.c_str()) == 0;
    if (!mounted) why = std::strerror(errno);
  }
  ~SmallDisk() {
    if (mounted) ::umount2(dir.c_str(), MNT_DETACH);
  }
  std::string dir;
  bool mounted = false;
  std::string why;
};

TEST_CASE("dictionary durability: a full disk refuses the set, and every acknowledged set survives") {
  TempDir dir;
  SmallDisk disk(dir.root + "/data", 64 * 1024);
  if (!disk.mounted) {
    WARN("cannot mount a tmpfs here (" << disk.why << "): the full-disk test needs root");
    return;
  }
  const Options options{{"durability", "fsync"}};
  std::vector<std::string> acknowledged;
  std::string refusal;
  {
    Instance node(options, dir.data_dir);
    for (int i = 0; i < 100000 && refusal.empty(); ++i) {
      std::string name = "key" + std::to_string(i);
      OpResult r = node.Exec({name, std::to_string(i)});
      if (r.status.ok()) {
        acknowledged.push_back(name);
      } else {
        refusal = r.status.message();
      }
    }
    REQUIRE_FALSE(refusal.empty());
    CHECK_THAT(refusal, Catch::Contains("dictionary journal " + dir.journal()));
    CHECK_THAT(refusal, Catch::Contains("cannot append (No space left on device)"));
    CHECK_THAT(refusal, Catch::EndsWith("the value was not set"));
    // The refused set is not visible, and reads still answer.
    CHECK(node.Get("key" + std::to_string(acknowledged.size())) ==
          "'key" + std::to_string(acknowledged.size()) + "' not found");
    CHECK(node.Get(acknowledged.front()) == "0");
  }
  INFO(acknowledged.size() << " sets acknowledged before the disk filled");
  REQUIRE(acknowledged.size() > 100);
  Instance restarted(options, dir.data_dir);
  for (std::size_t i = 0; i < acknowledged.size(); ++i) {
    if (restarted.Get(acknowledged[i]) != std::to_string(i)) {
      FAIL("acknowledged set " << acknowledged[i] << " lost after the restart");
    }
  }
}

}  // namespace
}  // namespace arbor
