// Config loading: the embedded default, endpoint templates, and strict error reporting. Every
// error must name the source, the line and the column ("test.yaml:3:3: ...").
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "arbor/config.h"
#include "arbor/config_handoff.h"

namespace arbor {
namespace {

Result<Config> Load(const std::string& yaml) { return LoadConfigString(yaml, "test.yaml"); }

// Loads `yaml`, which must fail, and returns the error message.
std::string Error(const std::string& yaml) {
  Result<Config> c = Load(yaml);
  INFO("yaml:\n" << yaml);
  REQUIRE_FALSE(c.ok());
  CHECK(c.status().code() == Code::kInvalidArgument);
  return c.status().message();
}

std::vector<std::string> Names(const std::vector<PluginSpec>& specs) {
  std::vector<std::string> out;
  for (const PluginSpec& s : specs) out.push_back(s.name);
  return out;
}

TEST_CASE("config: the embedded default loads") {
  Result<Config> c = LoadDefaultConfig();
  REQUIRE(c.ok());
  CHECK(c->source == "<embedded configs/default.yaml>");
  CHECK(Names(c->plugins) == std::vector<std::string>{"dictionary", "ping"});
  CHECK(c->plugin_path == std::vector<std::string>{"$ORIGIN/../lib/arbor/plugins"});
  CHECK(c->endpoint == "abstract://arbor/{session}/{id}");
  CHECK_FALSE(c->allow_remote);
  CHECK(c->max_message_bytes == 1048576u);
  CHECK(c->reconnect_min_ms == 10);
  CHECK(c->reconnect_max_ms == 200);
  CHECK(c->max_connections == 64);
  CHECK(c->request_ms == 2000);
  CHECK(c->start_ms == 5000);
  CHECK(c->orphan_grace_ms == 3000);
  CHECK(c->nodes.empty());
  CHECK(c->max_nodes == 1000u);
  CHECK(c->log_level == "warn");
  CHECK(Names(c->PluginsFor(12345)) == std::vector<std::string>{"dictionary", "ping"});
}

TEST_CASE("config: the default search path finds the real plugins from the build tree") {
  // Test binaries live in build/bin, like arbor itself, so $ORIGIN/../lib/arbor/plugins is
  // where the real plugins were built.
  Result<Config> c = LoadDefaultConfig();
  REQUIRE(c.ok());
  for (const PluginSpec& spec : c->plugins) {
    Result<std::string> path = LocatePlugin(*c, spec);
    INFO(spec.name << ": " << path.status().ToString());
    REQUIRE(path.ok());
    CHECK(std::filesystem::equivalent(
        *path, std::string(ARBOR_PLUGIN_DIR) + "/libarbor_" + spec.name + ".so"));
  }
}

TEST_CASE("config: LocatePlugin reports where it looked") {
  Result<Config> c = Load("plugins:\n  search_path: [/nonexistent/a, /nonexistent/b]\n");
  REQUIRE(c.ok());
  Result<std::string> path = LocatePlugin(*c, PluginSpec{"nosuch", "", {}});
  REQUIRE_FALSE(path.ok());
  CHECK(path.status().code() == Code::kNotFound);
  CHECK_THAT(path.status().message(), Catch::Contains("libarbor_nosuch.so"));
  CHECK_THAT(path.status().message(), Catch::Contains("/nonexistent/a/libarbor_nosuch.so"));
  CHECK_THAT(path.status().message(), Catch::Contains("/nonexistent/b/libarbor_nosuch.so"));

  Result<std::string> explicit_path =
      LocatePlugin(*c, PluginSpec{"x", "/nonexistent/libx.so", {}});
  REQUIRE_FALSE(explicit_path.ok());
  CHECK(explicit_path.status().code() == Code::kNotFound);
  CHECK_THAT(explicit_path.status().message(), Catch::Contains("/nonexistent/libx.so"));
}

TEST_CASE("config: an empty document is the built-in defaults") {
  Result<Config> c = Load("");
  REQUIRE(c.ok());
  CHECK(c->endpoint == "abstract://arbor/{session}/{id}");
  CHECK(c->request_ms == 2000);
}

TEST_CASE("config: EndpointFor fills in session and id") {
  Result<Config> c = LoadDefaultConfig();
  REQUIRE(c.ok());
  CHECK(c->EndpointFor("s1", 7) == "abstract://arbor/s1/7");
  CHECK(c->EndpointFor("abc", -3) == "abstract://arbor/abc/-3");
  CHECK(c->EndpointFor("x", INT64_MIN) == "abstract://arbor/x/-9223372036854775808");

  Result<Config> twice =
      Load("transport:\n  endpoint: \"ipc:///tmp/{session}-{id}-{session}-{id}.sock\"\n");
  REQUIRE(twice.ok());
  CHECK(twice->EndpointFor("S", 42) == "ipc:///tmp/S-42-S-42.sock");
}

TEST_CASE("config: every key is read") {
  Result<Config> c = Load(
      "transport:\n"
      "  endpoint: \"ipc:///tmp/t-{session}-{id}\"\n"
      "  allow_remote: false\n"
      "  max_message_bytes: 2048\n"
      "  reconnect_min_ms: 5\n"
      "  reconnect_max_ms: 50\n"
      "  max_connections: 9\n"
      "timeouts:\n"
      "  request_ms: 100\n"
      "  start_ms: 200\n"
      "  orphan_grace_ms: 0\n"
      "plugins:\n"
      "  search_path: [/a, /b]\n"
      "  load: [dictionary]\n"
      "nodes: [5, 3, 8]\n"
      "data_dir: /tmp/data-{session}\n"
      "log_level: debug\n");
  REQUIRE(c.ok());
  CHECK(c->source == "test.yaml");
  CHECK(c->endpoint == "ipc:///tmp/t-{session}-{id}");
  CHECK(c->max_message_bytes == 2048u);
  CHECK(c->reconnect_min_ms == 5);
  CHECK(c->reconnect_max_ms == 50);
  CHECK(c->max_connections == 9);
  CHECK(c->request_ms == 100);
  CHECK(c->start_ms == 200);
  CHECK(c->orphan_grace_ms == 0);
  CHECK(c->plugin_path == std::vector<std::string>{"/a", "/b"});
  CHECK(Names(c->plugins) == std::vector<std::string>{"dictionary"});
  REQUIRE(c->nodes.size() == 3u);
  CHECK(c->nodes[0].id == 5);
  CHECK(c->nodes[1].id == 3);
  CHECK(c->nodes[2].id == 8);
  CHECK_FALSE(c->nodes[0].plugins.has_value());
  CHECK(c->data_dir == "/tmp/data-{session}");
  CHECK(c->log_level == "debug");
}

TEST_CASE("config: an unknown key names file, line and column") {
  std::string m = Error(
      "transport:\n"
      "  endpoint: \"abstract://arbor/{session}/{id}\"\n"
      "  bogus: 1\n");
  CHECK_THAT(m, Catch::StartsWith("test.yaml:3:3: "));
  CHECK_THAT(m, Catch::Contains("unknown key 'bogus'"));
  CHECK_THAT(m, Catch::Contains("transport"));

  std::string top = Error("timeouts:\n  request_ms: 10\nfrobnicate: true\n");
  CHECK_THAT(top, Catch::StartsWith("test.yaml:3:1: "));
  CHECK_THAT(top, Catch::Contains("unknown key 'frobnicate'"));
}

TEST_CASE("config: duplicate keys are refused at the second occurrence") {
  SECTION("top level") {
    std::string m = Error(
        "timeouts:\n"
        "  request_ms: 100\n"
        "timeouts:\n"
        "  start_ms: 100\n");
    CHECK_THAT(m, Catch::StartsWith("test.yaml:3:1: "));
    CHECK_THAT(m, Catch::Contains("duplicate key 'timeouts'"));
  }
  SECTION("nested") {
    std::string m = Error(
        "timeouts:\n"
        "  request_ms: 100\n"
        "  start_ms: 100\n"
        "  request_ms: 200\n");
    CHECK_THAT(m, Catch::StartsWith("test.yaml:4:3: "));
    CHECK_THAT(m, Catch::Contains("duplicate key 'request_ms'"));
  }
  SECTION("plugin options") {
    std::string m = Error(
        "plugins:\n"
        "  load:\n"
        "    - name: dictionary\n"
        "      options:\n"
        "        a: 1\n"
        "        a: 2\n");
    CHECK_THAT(m, Catch::StartsWith("test.yaml:6:9: "));
    CHECK_THAT(m, Catch::Contains("duplicate key 'a'"));
  }
}

TEST_CASE("config: a wrong type names the key and its position") {
  std::string m = Error("timeouts:\n  request_ms: abc\n");
  CHECK_THAT(m, Catch::StartsWith("test.yaml:2:15: "));
  CHECK_THAT(m, Catch::Contains("'request_ms' must be an integer"));

  CHECK_THAT(Error("timeouts:\n  request_ms: 12abc\n"), Catch::Contains("must be an integer"));
  CHECK_THAT(Error("timeouts:\n  request_ms: 1.5\n"), Catch::Contains("must be an integer"));
  CHECK_THAT(Error("timeouts:\n  request_ms: [1]\n"), Catch::Contains("must be an integer"));
  CHECK_THAT(Error("timeouts:\n  request_ms:\n"), Catch::Contains("must be an integer"));

  std::string b = Error("transport:\n  allow_remote: maybe\n");
  CHECK_THAT(b, Catch::StartsWith("test.yaml:2:17: "));
  CHECK_THAT(b, Catch::Contains("'allow_remote' must be true or false"));

  CHECK_THAT(Error("transport: 5\n"), Catch::Contains("'transport' must be a mapping"));
  CHECK_THAT(Error("plugins:\n  search_path: /one/dir\n"),
             Catch::Contains("'search_path' must be a sequence"));
  CHECK_THAT(Error("plugins:\n  load: dictionary\n"),
             Catch::Contains("the plugin list must be a sequence"));
  CHECK_THAT(Error("nodes: 5\n"), Catch::Contains("'nodes' must be a sequence"));
  CHECK_THAT(Error("log_level: loud\n"), Catch::Contains("log_level must be one of"));
  CHECK_THAT(Error("- just\n- a list\n"), Catch::Contains("must be a mapping"));
}

TEST_CASE("config: out-of-range numbers are refused with the range") {
  std::string m = Error("timeouts:\n  request_ms: 0\n");
  CHECK_THAT(m, Catch::StartsWith("test.yaml:2:15: "));
  CHECK_THAT(m, Catch::Contains("'request_ms' must be between 1 and 3600000"));

  CHECK_THAT(Error("timeouts:\n  request_ms: 3600001\n"),
             Catch::Contains("between 1 and 3600000"));
  CHECK_THAT(Error("timeouts:\n  start_ms: -1\n"), Catch::Contains("'start_ms' must be between"));
  CHECK_THAT(Error("timeouts:\n  orphan_grace_ms: -1\n"),
             Catch::Contains("'orphan_grace_ms' must be between 0 and"));
  CHECK_THAT(Error("transport:\n  max_message_bytes: 100\n"),
             Catch::Contains("'max_message_bytes' must be between 1024 and"));
  CHECK_THAT(Error("transport:\n  max_connections: 1\n"),
             Catch::Contains("'max_connections' must be between 2 and 65536"));
  CHECK_THAT(Error("transport:\n  reconnect_min_ms: 0\n"),
             Catch::Contains("'reconnect_min_ms' must be between 1 and"));

  // The limits themselves are accepted.
  Result<Config> edge = Load("timeouts:\n  request_ms: 1\n  orphan_grace_ms: 0\n");
  REQUIRE(edge.ok());
  CHECK(edge->request_ms == 1);
  Result<Config> top = Load("timeouts:\n  request_ms: 3600000\n");
  REQUIRE(top.ok());
  CHECK(top->request_ms == 3600000);

  CHECK_THAT(Error("transport:\n  reconnect_min_ms: 100\n  reconnect_max_ms: 50\n"),
             Catch::Contains("reconnect_max_ms must not be smaller than reconnect_min_ms"));
}

TEST_CASE("config: a YAML syntax error names the line") {
  // An unclosed flow sequence is noticed where the next token should close it.
  std::string m = Error(
      "timeouts:\n"
      "  request_ms: 100\n"
      "  start_ms: [1, 2\n"
      "log_level: warn\n");
  CHECK_THAT(m, Catch::StartsWith("test.yaml:4:"));
  CHECK_THAT(m, Catch::Contains("end of sequence flow not found"));

  std::string tab = Error("timeouts:\n  request_ms: 100\n\t start_ms: 5\n");
  CHECK_THAT(tab, Catch::StartsWith("test.yaml:3:1: "));

  std::string indent = Error("timeouts:\n  request_ms: 100\n start_ms: 5\n");
  CHECK_THAT(indent, Catch::StartsWith("test.yaml:3:2: "));
}

TEST_CASE("config: endpoints beyond loopback need allow_remote") {
  std::string m = Error("transport:\n  endpoint: \"tcp://0.0.0.0:0\"\n");
  CHECK_THAT(m, Catch::StartsWith("test.yaml:2:13: "));
  CHECK_THAT(m, Catch::Contains("allow_remote"));
  CHECK_THAT(m, Catch::Contains("tcp://0.0.0.0:0"));

  // Plain tcp beyond loopback also needs insecure: true; tls+tcp does not.
  std::string plain = Error("transport:\n  endpoint: \"tcp://0.0.0.0:0\"\n  allow_remote: true\n");
  CHECK_THAT(plain, Catch::Contains("insecure: true"));

  // allow_remote may come before or after the endpoint.
  for (const char* yaml : {"transport:\n  endpoint: \"tcp://0.0.0.0:0\"\n  allow_remote: true\n  insecure: true\n",
                           "transport:\n  insecure: true\n  allow_remote: true\n  endpoint: \"tcp://0.0.0.0:0\"\n"}) {
    Result<Config> ok = Load(yaml);
    INFO(yaml);
    REQUIRE(ok.ok());
    CHECK(ok->allow_remote);
    CHECK(ok->endpoint == "tcp://0.0.0.0:0");
  }

  for (const char* loop : {"tcp://127.0.0.1:0", "tcp://localhost:0", "tcp://[::1]:0",
                           "ws://127.0.0.1:0/{id}", "tcp://127.0.0.1:9{id}"}) {
    Result<Config> c = Load(std::string("transport:\n  endpoint: \"") + loop + "\"\n");
    INFO(loop << ": " << c.status().ToString());
    REQUIRE(c.ok());
    CHECK(c->endpoint == loop);
  }

  for (const char* remote : {"tcp://10.1.2.3:0", "tcp://:0", "tcp4://example.com:0",
                             "ws://0.0.0.0:0/{id}", "tcp6://[::]:0"}) {
    INFO(remote);
    CHECK_THAT(Error(std::string("transport:\n  endpoint: \"") + remote + "\"\n"),
               Catch::Contains("allow_remote"));
  }
}

TEST_CASE("config: an endpoint without {id} is refused") {
  std::string m = Error("transport:\n  endpoint: \"ipc:///tmp/arbor.sock\"\n");
  CHECK_THAT(m, Catch::StartsWith("test.yaml:2:13: "));
  CHECK_THAT(m, Catch::Contains("{id}"));

  CHECK_THAT(Error("transport:\n  endpoint: \"abstract://arbor/{session}\"\n"),
             Catch::Contains("{id}"));
  CHECK_THAT(Error("transport:\n  endpoint: \"carrier-pigeon://{id}\"\n"),
             Catch::Contains("no transport"));
}

TEST_CASE("config: nodes with a duplicate id are refused") {
  std::string m = Error("nodes:\n  - 5\n  - 3\n  - 5\n");
  CHECK_THAT(m, Catch::StartsWith("test.yaml:4:5: "));
  CHECK_THAT(m, Catch::Contains("node 5 is listed twice"));

  CHECK_THAT(Error("nodes:\n  - id: 7\n  - 7\n"), Catch::Contains("node 7 is listed twice"));
  CHECK_THAT(Error("nodes:\n  - plugins: [ping]\n"), Catch::Contains("needs an id"));
  CHECK_THAT(Error("nodes: [abc]\n"), Catch::Contains("must be an integer"));
  CHECK_THAT(Error("plugins:\n  load: [ping, dictionary, ping]\n"),
             Catch::Contains("plugin 'ping' is listed twice"));
}

TEST_CASE("config: node ids span the 64-bit range") {
  Result<Config> c = Load("nodes: [-9223372036854775808, 9223372036854775807, 0]\n");
  REQUIRE(c.ok());
  REQUIRE(c->nodes.size() == 3u);
  CHECK(c->nodes[0].id == INT64_MIN);
  CHECK(c->nodes[1].id == INT64_MAX);
  CHECK(c->nodes[2].id == 0);
  CHECK_THAT(Error("nodes: [9223372036854775808]\n"), Catch::StartsWith("test.yaml:1:9: "));
}

TEST_CASE("config: a node entry may override the plugin list") {
  Result<Config> c = Load(
      "plugins:\n"
      "  load: [dictionary, ping]\n"
      "nodes:\n"
      "  - 1\n"
      "  - id: 2\n"
      "    plugins: [ping]\n"
      "  - id: 3\n"
      "  - id: 4\n"
      "    plugins: []\n");
  REQUIRE(c.ok());
  REQUIRE(c->nodes.size() == 4u);
  CHECK_FALSE(c->nodes[0].plugins.has_value());
  REQUIRE(c->nodes[1].plugins.has_value());
  CHECK_FALSE(c->nodes[2].plugins.has_value());
  REQUIRE(c->nodes[3].plugins.has_value());
  CHECK(Names(c->PluginsFor(2)) == std::vector<std::string>{"ping"});
  CHECK(Names(c->PluginsFor(1)) == std::vector<std::string>{"dictionary", "ping"});
  CHECK(Names(c->PluginsFor(3)) == std::vector<std::string>{"dictionary", "ping"});
  CHECK(c->PluginsFor(4).empty());
  CHECK(Names(c->PluginsFor(99)) == std::vector<std::string>{"dictionary", "ping"});

  CHECK_THAT(Error("nodes:\n  - id: 1\n    colour: red\n"), Catch::StartsWith("test.yaml:3:5: "));
}

TEST_CASE("config: a plugin entry may be a map with path and options") {
  Result<Config> c = Load(
      "plugins:\n"
      "  load:\n"
      "    - ping\n"
      "    - name: dictionary\n"
      "      path: /opt/x/libarbor_dictionary.so\n"
      "      options:\n"
      "        capacity: 100\n"
      "        mode: fast\n");
  REQUIRE(c.ok());
  REQUIRE(c->plugins.size() == 2u);
  CHECK(c->plugins[0].name == "ping");
  CHECK(c->plugins[0].path.empty());
  CHECK(c->plugins[0].options.empty());
  CHECK(c->plugins[1].name == "dictionary");
  CHECK(c->plugins[1].path == "/opt/x/libarbor_dictionary.so");
  CHECK(c->plugins[1].options == std::map<std::string, std::string>{{"capacity", "100"},
                                                                     {"mode", "fast"}});
  // An explicit path is used as it is.
  Result<std::string> located = LocatePlugin(*c, c->plugins[1]);
  REQUIRE_FALSE(located.ok());
  CHECK_THAT(located.status().message(), Catch::Contains("/opt/x/libarbor_dictionary.so"));

  CHECK_THAT(Error("plugins:\n  load:\n    - path: /x.so\n"), Catch::Contains("needs a name"));
  CHECK_THAT(Error("plugins:\n  load:\n    - name: a\n      options: [1]\n"),
             Catch::Contains("'options' must be a mapping"));
  CHECK_THAT(Error("plugins:\n  load:\n    - name: a\n      version: 2\n"),
             Catch::StartsWith("test.yaml:4:7: "));
}

TEST_CASE("config: LoadConfigFile reads a file and names a missing one") {
  namespace fs = std::filesystem;
  fs::path dir = fs::temp_directory_path() / ("arbor-config-test-" + std::to_string(getpid()));
  fs::create_directories(dir);
  fs::path missing = dir / "missing.yaml";
  Result<Config> none = LoadConfigFile(missing.string());
  REQUIRE_FALSE(none.ok());
  CHECK(none.status().code() == Code::kNotFound);
  CHECK_THAT(none.status().message(), Catch::Contains(missing.string()));

  fs::path good = dir / "good.yaml";
  {
    std::FILE* f = std::fopen(good.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("timeouts:\n  request_ms: 321\n  what: 1\n", f);
    std::fclose(f);
  }
  Result<Config> bad = LoadConfigFile(good.string());
  REQUIRE_FALSE(bad.ok());
  CHECK_THAT(bad.status().message(), Catch::StartsWith(good.string() + ":3:3: "));
  {
    std::FILE* f = std::fopen(good.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("timeouts:\n  request_ms: 321\n", f);
    std::fclose(f);
  }
  Result<Config> c = LoadConfigFile(good.string());
  REQUIRE(c.ok());
  CHECK(c->request_ms == 321);
  CHECK(c->source == good.string());
  fs::remove_all(dir);
}

TEST_CASE("config: ExpandOrigin uses the directory of the running binary") {
  std::filesystem::path exe = std::filesystem::read_symlink("/proc/self/exe");
  std::string dir = exe.parent_path().string();
  CHECK(ExpandOrigin("$ORIGIN/x") == dir + "/x");
  CHECK_THAT(ExpandOrigin("$ORIGIN/x"), Catch::StartsWith(dir));
  CHECK(ExpandOrigin("$ORIGIN") == dir);
  CHECK(ExpandOrigin("/abs/$ORIGIN/x") == "/abs/$ORIGIN/x");
  CHECK(ExpandOrigin("relative/x") == "relative/x");
  CHECK(ExpandOrigin("") == "");
}

}  // namespace
}  // namespace arbor

// Regression tests for endpoint and path checks that once accepted what they should not.
TEST_CASE("endpoint checks parse the host instead of matching prefixes") {
  auto load = [](const std::string& endpoint) {
    return arbor::LoadConfigString("transport:\n  endpoint: \"" + endpoint + "\"\n", "t.yaml");
  };
  CHECK_FALSE(load("tcp://127.evil.example.com:0").ok());
  CHECK_FALSE(load("tcp://localhost.example.com:0").ok());
  CHECK(load("tcp://127.0.0.1:0").ok());
  CHECK(load("tcp://localhost:0").ok());
  CHECK(load("tcp://[::1]:0").ok());
  // ":0" somewhere in a local path is not a kernel-chosen port: {id} is still required.
  CHECK_FALSE(load("ipc:///tmp/a:0b.sock").ok());
  CHECK_FALSE(load("abstract://x:0").ok());
  CHECK(load("ipc:///tmp/a:0b-{id}.sock").ok());
}

TEST_CASE("numbers too large for any integer get the range message") {
  auto c = arbor::LoadConfigString("timeouts:\n  request_ms: 99999999999999999999\n", "t.yaml");
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.status().message(), Catch::Contains("t.yaml:2:15") && Catch::Contains("must be between"));
}

TEST_CASE("$ORIGIN is replaced only as a whole path component") {
  CHECK(arbor::ExpandOrigin("$ORIGINAL/x") == "$ORIGINAL/x");
  CHECK(arbor::ExpandOrigin("$ORIGIN/x") != "$ORIGIN/x");
}

TEST_CASE("a config without a plugin list loads the default plugins") {
  auto c = arbor::LoadConfigString("nodes: [1]\n", "t.yaml");
  REQUIRE(c.ok());
  REQUIRE(c->PluginsFor(1).size() == 2);
  CHECK(c->PluginsFor(1)[0].name == "dictionary");
  CHECK(c->PluginsFor(1)[1].name == "ping");
}

// Regression: ExpandOrigin read the character after "$ORIGIN" before checking that the path
// starts with it, so a short path was read out of bounds (found by ASan).
TEST_CASE("ExpandOrigin on paths shorter than $ORIGIN") {
  for (const char* p : {"", "$", "$ORIG", "abc"}) CHECK(arbor::ExpandOrigin(p) == p);
  CHECK(arbor::ExpandOrigin("$ORIGIN") != "$ORIGIN");
}

namespace arbor {
namespace {

std::span<const std::uint8_t> Bytes(const std::string& s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}

TEST_CASE("handoff: every field of a config survives the trip through a memfd") {
  Result<Config> c = Load(R"(
transport:
  endpoint: "ipc:///tmp/arbor-{session}-{id}"
  max_message_bytes: 4096
  reconnect_min_ms: 3
  reconnect_max_ms: 77
  max_connections: 5
timeouts: {request_ms: 1234, start_ms: 4321, orphan_grace_ms: 999}
plugins:
  search_path: ["/a", "$ORIGIN/b"]
  load:
    - dictionary
    - {name: ping, path: /x/libarbor_ping.so, options: {k: v, "a b": ""}}
restart: on-failure
restart_limit: {max_restarts: 7, window_ms: 8888}
data_dir: /tmp/arbor-data-{session}
log_level: debug
nodes:
  - 50
  - {id: -3, plugins: [dictionary]}
)");
  INFO(c.status().ToString());
  REQUIRE(c.ok());
  Result<int> fd = ConfigToFd(*c);
  REQUIRE(fd.ok());
  Result<Config> back = ConfigFromFd(*fd);
  ::close(*fd);
  REQUIRE(back.ok());
  // The encoding is canonical, so equal encodings mean equal configs; and spot checks say the
  // fields really were filled in.
  CHECK(EncodeConfig(*back) == EncodeConfig(*c));
  CHECK(back->endpoint == "ipc:///tmp/arbor-{session}-{id}");
  CHECK(back->max_message_bytes == 4096);
  CHECK(back->max_connections == 5);
  CHECK(back->request_ms == 1234);
  CHECK(back->orphan_grace_ms == 999);
  CHECK(back->restart == Config::Restart::kOnFailure);
  CHECK(back->restart_window_ms == 8888);
  REQUIRE(back->plugins.size() == 2);
  CHECK(back->plugins[1].options.at("a b").empty());
  CHECK(back->plugins[1].path == "/x/libarbor_ping.so");
  REQUIRE(back->nodes.size() == 2);
  CHECK_FALSE(back->nodes[0].plugins);
  CHECK(back->nodes[1].id == -3);
  CHECK(Names(*back->nodes[1].plugins) == std::vector<std::string>{"dictionary"});
  CHECK(back->log_level == "debug");
}

TEST_CASE("handoff: the memfd is sealed against writes") {
  Result<int> fd = ConfigToFd(Config{});
  REQUIRE(fd.ok());
  CHECK(::write(*fd, "x", 1) < 0);
  ::close(*fd);
}

// A node run without a handed-over config uses Config{}; it must be the shipped default.
TEST_CASE("handoff: the built-in defaults are configs/default.yaml") {
  Result<Config> yaml = LoadDefaultConfig();
  REQUIRE(yaml.ok());
  Config builtin;
  builtin.source = yaml->source;
  CHECK(EncodeConfig(builtin) == EncodeConfig(*yaml));
}

TEST_CASE("handoff: truncated, extended or garbage bytes are refused, never a crash") {
  Result<Config> c = Load("nodes: [1, 2]\n");
  REQUIRE(c.ok());
  std::string good = EncodeConfig(*c);
  for (std::size_t n = 0; n < good.size(); ++n) {
    INFO("prefix of " << n << " bytes");
    CHECK_FALSE(DecodeConfig(Bytes(good.substr(0, n))).ok());
  }
  CHECK_FALSE(DecodeConfig(Bytes(good + "x")).ok());
  CHECK(DecodeConfig(Bytes(good)).ok());
  std::mt19937 rng(5);
  for (int i = 0; i < 2000; ++i) {
    std::string junk = good;
    junk[rng() % junk.size()] = static_cast<char>(rng());
    (void)DecodeConfig(Bytes(junk));  // any result, but no crash and no huge allocation
    std::string noise(rng() % 64, '\0');
    for (char& ch : noise) ch = static_cast<char>(rng());
    CHECK_FALSE(DecodeConfig(Bytes(noise)).ok());
  }
}

// --- hostile input (issue 10) ---------------------------------------------------------------

// True when `m` holds no byte a terminal could act on: it stays one printable line.
bool OnePrintableLine(const std::string& m) {
  return std::none_of(m.begin(), m.end(), [](char ch) {
    return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7F;
  });
}

// yaml-cpp 0.7 ends an unclosed quoted scalar at the end of the file: the endpoint swallowed
// `nodes: [1]` and the deployment started with no nodes and exit 0.
TEST_CASE("config: a quote that is never closed is refused at the line where it opened") {
  std::string m = Error(
      "transport:\n"
      "  endpoint: \"ipc:///tmp/x-{id}\n"
      "nodes: [1]\n");
  CHECK_THAT(m, Catch::StartsWith("test.yaml:2:13: "));
  CHECK_THAT(m, Catch::Contains("never closed"));
  CHECK_THAT(Error("log_level: 'warn\n\n\n"), Catch::StartsWith("test.yaml:1:12: "));
  CHECK_THAT(Error("log_level: !!str\n  \"warn\n"), Catch::StartsWith("test.yaml:2:3: "));
  // An escaped quote is not the end; '' inside single quotes is not either.
  CHECK_THAT(Error("log_level: \"warn\\\"\n"), Catch::Contains("never closed"));
  CHECK_THAT(Error("log_level: 'it''s\n"), Catch::Contains("never closed"));
  // Closed quotes of both kinds load.
  CHECK(Load("log_level: \"warn\"\ndata_dir: '/tmp/it''s'\n").ok());
}

TEST_CASE("config: values are checked for what they are") {
  CHECK_THAT(Error("transport:\n  endpoint: \"ipc:///tmp/x {id}\"\n"),
             Catch::Contains("'endpoint' must not contain spaces"));
  CHECK_THAT(Error("nodes: [\" 5\"]\n"), Catch::Contains("'node id' must be an integer"));
  CHECK_THAT(Error("nodes: [\"+5\"]\n"), Catch::Contains("'node id' must be an integer"));
  CHECK_THAT(Error("timeouts: {request_ms: \"100 \"}\n"), Catch::Contains("must be an integer"));
  CHECK_THAT(Error("plugins: {load: [../../evil]}\n"),
             Catch::Contains("plugin name '../../evil' must be letters, digits"));
  CHECK_THAT(Error("plugins: {load: [{name: a/b}]}\n"), Catch::Contains("plugin name 'a/b'"));
  CHECK_THAT(Error("plugins: {search_path: [\"\"]}\n"),
             Catch::Contains("'search_path entry' must be a path, not empty"));
  CHECK_THAT(Error("data_dir: \"/tmp/a\\tb\"\n"), Catch::Contains("must not contain control"));
  CHECK(Load("nodes: [-5, 0, 7]\n").ok());
}

TEST_CASE("config: a value with ESC and a newline gives one escaped error line") {
  std::string m = Error("transport:\n  endpoint: \"ipc:///tmp/\\e[31m\\nx-{id}\"\n");
  CHECK(m == "test.yaml:2:13: 'endpoint' must not contain control characters (newline, tab, "
             "ESC...): 'ipc:///tmp/\\x1b[31m\\nx-{id}'");
  // A key is quoted raw by yaml-cpp's parse; the message is escaped all the same.
  std::string key = Error("\"a\\eb\\n\": 1\n");
  CHECK(OnePrintableLine(key));
  CHECK_THAT(key, Catch::Contains("unknown key 'a\\x1bb\\n'"));
  // And the source name, which comes from the command line.
  Result<Config> c = LoadConfigString("bogus: 1\n", "evil\x1b]0;x\x07.yaml");
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.status().message(), Catch::StartsWith("evil\\x1b]0;x\\x07.yaml:1:1: "));
}

TEST_CASE("config: a config is UTF-8 text") {
  CHECK_THAT(Error(std::string("log_level: warn\nnodes: [1\0]\n", 27)),
             Catch::StartsWith("test.yaml:2:1: a config must be UTF-8 text"));
  CHECK_THAT(Error("\xff\xfel\0o\0g\0"), Catch::Contains("must be UTF-8 text"));
  // A UTF-8 byte order mark is fine, and quotes after it are found where they are.
  Result<Config> bom = Load("\xef\xbb\xbf" "log_level: \"info\"\ndata_dir: '/tmp/x'\n");
  INFO(bom.status().ToString());
  REQUIRE(bom.ok());
  CHECK(bom->log_level == "info");
  CHECK_THAT(Error("\xef\xbb\xbf" "log_level: \"info\n"), Catch::StartsWith("test.yaml:1:12: "));
}

TEST_CASE("config: a second YAML document is refused") {
  std::string m = Error("nodes: [1]\n---\nnodes: [2]\n");
  CHECK_THAT(m, Catch::StartsWith("test.yaml:2:1: "));
  CHECK_THAT(m, Catch::Contains("a second YAML document"));
  CHECK_THAT(Error("nodes: [1]\n--- x\n"), Catch::Contains("a second YAML document"));
  CHECK_THAT(Error("nodes: [1]\n...\n---\n"), Catch::Contains("a second YAML document"));
  // One document with its explicit start and end markers is fine.
  CHECK(Load("---\nnodes: [1]\n...\n").ok());
}

TEST_CASE("config: deep nesting is refused early with the depth named") {
  // Unclosed and closed: both stop at depth 32, long before yaml-cpp's recursion guard (which
  // says "bad file" at a column past the end) or the stack.
  for (const std::string& yaml :
       {"nodes: " + std::string(100000, '['),
        "nodes: " + std::string(100000, '[') + std::string(100000, ']'),
        std::string(100000, '{'), "nodes:\n" + [] {
          std::string s;
          for (int i = 0; i < 50000; ++i) s += "- ";
          return s + "x\n";
        }()}) {
    std::string m = Error(yaml);
    CHECK_THAT(m, Catch::Contains("nesting deeper than 32 levels"));
    CHECK_THAT(m, Catch::StartsWith("test.yaml:"));
    CHECK(m.size() < 200);
  }
  // Nesting as deep as a real config goes loads.
  CHECK(Load("hosts:\n  - name: a\n    address: 127.0.0.1\n    tls: {ca: /x, cert: /y, key: /z}\n"
             "transport: {endpoint: \"tcp://{address}:{port}\"}\n").ok());
}

TEST_CASE("config: keys must be plain strings") {
  std::string m = Error("[a, b]: 1\n");
  CHECK(m == "test.yaml:1:1: keys must be plain strings, not a sequence or a mapping");
  CHECK_THAT(Error("timeouts:\n  ? {a: 1}\n  : 5\n"),
             Catch::StartsWith("test.yaml:2:5: keys must be plain strings"));
  CHECK_THAT(Error("plugins:\n  load:\n    - name: dictionary\n      options: {[x]: y}\n"),
             Catch::Contains("keys must be plain strings"));
  // An unclosed bracket is reported as such, not as a key (yaml-cpp reads `[[` as a key).
  CHECK_THAT(Error("nodes: [[1\n"), Catch::Contains("end of sequence flow not found"));
}

TEST_CASE("config: a tab in the indentation is named with its line") {
  std::string m = Error("timeouts:\n\trequest_ms: 100\n");
  CHECK(m == "test.yaml:2:1: tabs are not allowed for indentation; indent with spaces");
  CHECK_THAT(Error("timeouts:\n  \t request_ms: 100\n"), Catch::StartsWith("test.yaml:2:3: tabs"));
  // A tab before a comment, or on a blank line, or after the indentation, is no indentation.
  CHECK(Load("timeouts:\n\t# note\n\t\n  request_ms: 100\t# ms\n").ok());
}

TEST_CASE("config: a file over 1 MiB is refused before it is parsed") {
  std::string big = "nodes: [" + std::string((1 << 20), ' ') + "1]\n";
  std::string m = Error(big);
  CHECK_THAT(m, Catch::Contains("a config may be at most 1048576 bytes"));
  std::string exact = "#" + std::string((1 << 20) - 2, 'x') + "\n";
  CHECK(exact.size() == std::size_t(1 << 20));
  CHECK(Load(exact).ok());
}

TEST_CASE("config: max_nodes bounds the nodes list") {
  Result<Config> d = Load("");
  REQUIRE(d.ok());
  CHECK(d->max_nodes == 1000u);
  std::string list = "nodes: [";
  for (int i = 0; i <= 1000; ++i) list += std::to_string(i) + (i < 1000 ? "," : "]\n");
  std::string m = Error(list);
  CHECK_THAT(m, Catch::StartsWith("test.yaml:1:8: "));
  CHECK_THAT(m, Catch::Contains("'nodes' lists 1001 nodes, more than max_nodes (1000)"));
  CHECK(Load("max_nodes: 1001\n" + list).ok());
  CHECK_THAT(Error("max_nodes: 2\nnodes: [1, 2, 3]\n"), Catch::Contains("more than max_nodes (2)"));
  CHECK_THAT(Error("max_nodes: 0\n"), Catch::Contains("'max_nodes' must be between 1 and 1000000"));
  Result<Config> two = Load("max_nodes: 2\nnodes: [1, 2]\n");
  REQUIRE(two.ok());
  CHECK(two->max_nodes == 2u);
}

// A unique path under /tmp for one test's file.
std::string TempPath(const std::string& what) {
  return "/tmp/arbor-config-test-" + std::to_string(getpid()) + "-" + what;
}

TEST_CASE("config file: only a regular file of at most 1 MiB is read") {
  Result<Config> zero = LoadConfigFile("/dev/zero");
  REQUIRE_FALSE(zero.ok());
  CHECK(zero.status().message() == "/dev/zero: not a regular file; a config must be one");
  Result<Config> dir = LoadConfigFile("/tmp");
  REQUIRE_FALSE(dir.ok());
  CHECK_THAT(dir.status().message(), Catch::Contains("not a regular file"));

  std::string big = TempPath("big.yaml");
  {
    std::ofstream out(big);
    out << "nodes: [" << std::string((1 << 20) + 10, ' ') << "1]\n";
  }
  Result<Config> too_big = LoadConfigFile(big);
  std::remove(big.c_str());
  REQUIRE_FALSE(too_big.ok());
  CHECK_THAT(too_big.status().message(), Catch::Contains("a config may be at most 1048576 bytes"));

  Result<Config> missing = LoadConfigFile("/nonexistent/arbor.yaml");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.status().code() == Code::kNotFound);
  CHECK_THAT(missing.status().message(), Catch::Contains("/nonexistent/arbor.yaml"));
}

TEST_CASE("config file: a FIFO with no writer is refused without blocking") {
  std::string fifo = TempPath("fifo");
  std::remove(fifo.c_str());
  REQUIRE(mkfifo(fifo.c_str(), 0600) == 0);
  auto loading = std::async(std::launch::async, [&] { return LoadConfigFile(fifo); });
  bool done = loading.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  if (!done) {
    // Let the blocked open() return, so the test ends (and fails) instead of hanging.
    int w = ::open(fifo.c_str(), O_WRONLY | O_NONBLOCK);
    if (w >= 0) ::close(w);
  }
  Result<Config> c = loading.get();
  std::remove(fifo.c_str());
  REQUIRE(done);
  REQUIRE_FALSE(c.ok());
  CHECK_THAT(c.status().message(), Catch::Contains("not a regular file"));
}

}  // namespace
}  // namespace arbor
