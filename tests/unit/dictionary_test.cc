// The real dictionary and ping plugins, loaded from the build tree the way a node loads them and
// driven through the node's Dispatcher.
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "arbor/plugin_loader.h"
#include "arbor/dispatcher.h"

namespace arbor {
namespace {

const std::string kDictionary = std::string(ARBOR_PLUGIN_DIR) + "/libarbor_dictionary.so";
const std::string kPing = std::string(ARBOR_PLUGIN_DIR) + "/libarbor_ping.so";

LoadedPlugin Load(const std::string& path) {
  Result<LoadedPlugin> p = LoadPlugin(path);
  INFO(path << ": " << p.status().ToString());
  REQUIRE(p.ok());
  return std::move(p).value();
}

// A dispatcher serving every verb of `path`, as node `node_id` would.
struct Node {
  explicit Node(const std::string& path, NodeId node_id = 10) : dispatcher(node_id) {
    LoadedPlugin p = Load(path);
    PluginContext context;
    context.node_id = node_id;
    Result<std::shared_ptr<Plugin>> instance = p.Create(context);
    INFO(instance.status().ToString());
    REQUIRE(instance.ok());
    for (const VerbInfo& v : p.verbs()) dispatcher.Add(v, *instance);
  }
  OpResult Exec(std::vector<std::string> args) const {
    return dispatcher.Run(Op{"exec", std::move(args)});
  }
  Dispatcher dispatcher;
};

void CheckOk(const OpResult& r, const std::string& text) {
  INFO(r.status.ToString());
  CHECK(r.status.ok());
  CHECK(r.text == text);
}

void CheckInvalid(const OpResult& r, const std::string& fragment) {
  CHECK(r.status.code() == Code::kInvalidArgument);
  CHECK_THAT(r.status.message(), Catch::Contains(fragment));
  CHECK(r.text.empty());
}

TEST_CASE("dictionary: describes one non-blocking verb exec") {
  LoadedPlugin p = Load(kDictionary);
  CHECK(p.name() == "dictionary");
  CHECK(p.path() == kDictionary);
  REQUIRE(p.verbs().size() == 1u);
  const VerbInfo& v = p.verbs()[0];
  CHECK(v.name == "exec");
  CHECK(v.min_args == 1);
  CHECK(v.max_args == 2);
  CHECK(v.usage == "<name> [value]");
  CHECK_FALSE(v.help.empty());
  CHECK_FALSE(v.blocking);
  CHECK(v.plugin == "dictionary");

  Node node(kDictionary);
  CHECK_FALSE(node.dispatcher.Blocking(Op{"exec", {"a"}}));
  REQUIRE(node.dispatcher.verbs().size() == 1u);
  CHECK(node.dispatcher.verbs()[0].name == "exec");
}

TEST_CASE("dictionary: get set overwrite") {
  Node node(kDictionary);
  CheckOk(node.Exec({"MyVar"}), "'MyVar' not found");
  CheckOk(node.Exec({"MyVar", "5"}), "");
  CheckOk(node.Exec({"MyVar"}), "5");
  CheckOk(node.Exec({"MyVar", "7"}), "");
  CheckOk(node.Exec({"MyVar"}), "7");
  CheckOk(node.Exec({"MyVar", "-12"}), "");
  CheckOk(node.Exec({"MyVar"}), "-12");
  CheckOk(node.Exec({"MyVar", "0"}), "");
  CheckOk(node.Exec({"MyVar"}), "0");
  // Names are case-sensitive and independent.
  CheckOk(node.Exec({"myvar"}), "'myvar' not found");
  CheckOk(node.Exec({"Other1", "1"}), "");
  CheckOk(node.Exec({"MyVar"}), "0");
  CheckOk(node.Exec({"Other1"}), "1");
  CheckOk(node.Exec({"007", "7"}), "");
  CheckOk(node.Exec({"007"}), "7");
}

TEST_CASE("dictionary: each instance has its own values") {
  Node a(kDictionary, 1);
  Node b(kDictionary, 2);
  CheckOk(a.Exec({"x", "1"}), "");
  CheckOk(b.Exec({"x"}), "'x' not found");
  CheckOk(a.Exec({"x"}), "1");
}

TEST_CASE("dictionary: the 64-bit range is accepted, beyond it is refused") {
  Node node(kDictionary);
  CheckOk(node.Exec({"big", "9223372036854775807"}), "");
  CheckOk(node.Exec({"big"}), "9223372036854775807");
  CheckOk(node.Exec({"small", "-9223372036854775808"}), "");
  CheckOk(node.Exec({"small"}), "-9223372036854775808");

  OpResult over = node.Exec({"big", "9223372036854775808"});
  CheckInvalid(over, "out of range");
  CHECK_THAT(over.status.message(), Catch::Contains("9223372036854775808"));
  CheckInvalid(node.Exec({"small", "-9223372036854775809"}), "out of range");
  CheckInvalid(node.Exec({"big", "99999999999999999999999999"}), "out of range");
  // A refused set leaves the old value alone.
  CheckOk(node.Exec({"big"}), "9223372036854775807");
  CheckOk(node.Exec({"small"}), "-9223372036854775808");
}

TEST_CASE("dictionary: values that are not integers are refused") {
  Node node(kDictionary);
  for (const char* bad : {"12abc", "", "1.5", "+", "-", "+5", " 5", "5 ", "0x10", "1e3", "abc"}) {
    INFO("value '" << bad << "'");
    OpResult r = node.Exec({"v", bad});
    CheckInvalid(r, std::string("invalid value '") + bad + "'");
  }
  CheckOk(node.Exec({"v"}), "'v' not found");
}

TEST_CASE("dictionary: names are letters and digits only") {
  Node node(kDictionary);
  for (const char* bad : {"my-var", "my_var", "na\xc3\xafve", "a b", "a.b", "x!", "\xe2\x82\xac"}) {
    INFO("name '" << bad << "'");
    CheckInvalid(node.Exec({bad}), std::string("invalid name '") + bad + "'");
    CheckInvalid(node.Exec({bad, "1"}), std::string("invalid name '") + bad + "'");
  }
  // The empty name cannot be typed, but can arrive over the wire.
  CheckInvalid(node.Exec({""}), "invalid name ''");
  CheckInvalid(node.Exec({"", "1"}), "invalid name ''");
  // A bad name is refused before the value is looked at.
  CheckInvalid(node.Exec({"my-var", "abc"}), "invalid name 'my-var'");
}

TEST_CASE("dictionary: arity and unknown verbs are checked by the dispatcher") {
  Node node(kDictionary, 7);
  OpResult none = node.Exec({});
  CHECK(none.status.code() == Code::kInvalidArgument);
  CHECK(none.status.message() == "usage: exec <id> <name> [value]");
  OpResult three = node.Exec({"a", "1", "2"});
  CHECK(three.status.code() == Code::kInvalidArgument);
  CHECK(three.status.message() == "usage: exec <id> <name> [value]");

  OpResult unknown = node.dispatcher.Run(Op{"frob", {"a"}});
  CHECK(unknown.status.code() == Code::kUnknownVerb);
  CHECK_THAT(unknown.status.message(), Catch::Contains("frob"));
  CHECK_THAT(unknown.status.message(), Catch::Contains("node 7"));
  CHECK_FALSE(node.dispatcher.Blocking(Op{"frob", {}}));
}

TEST_CASE("dictionary: an unknown option makes Create fail") {
  LoadedPlugin p = Load(kDictionary);
  PluginContext context;
  context.node_id = 3;
  context.options["capacity"] = "10";
  Result<std::shared_ptr<Plugin>> instance = p.Create(context);
  REQUIRE_FALSE(instance.ok());
  CHECK(instance.status().code() == Code::kInvalidArgument);
  CHECK_THAT(instance.status().message(), Catch::Contains("unknown option 'capacity'"));
  CHECK_THAT(instance.status().message(), Catch::Contains("dictionary"));

  context.options.clear();
  CHECK(p.Create(context).ok());
}

TEST_CASE("dictionary: concurrent sets and gets on distinct keys") {
  Node node(kDictionary);
  constexpr int kThreads = 4;
  constexpr int kKeys = 10000;
  std::vector<std::thread> threads;
  std::vector<int> failures(kThreads, 0);
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&node, &failures, t] {
      for (int i = 0; i < kKeys; ++i) {
        std::string key = "t" + std::to_string(t) + "k" + std::to_string(i);
        std::string value = std::to_string(std::int64_t{t} * 1000000007LL - i);
        OpResult set = node.Exec({key, value});
        OpResult get = node.Exec({key});
        if (!set.status.ok() || !get.status.ok() || get.text != value) ++failures[t];
      }
    });
  }
  for (std::thread& th : threads) th.join();
  for (int t = 0; t < kThreads; ++t) CHECK(failures[t] == 0);

  int wrong = 0;
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kKeys; ++i) {
      std::string key = "t" + std::to_string(t) + "k" + std::to_string(i);
      OpResult get = node.Exec({key});
      if (!get.status.ok() || get.text != std::to_string(std::int64_t{t} * 1000000007LL - i)) {
        ++wrong;
      }
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("ping plugin: loads and answers ok with no text") {
  LoadedPlugin p = Load(kPing);
  CHECK(p.name() == "ping");
  REQUIRE(p.verbs().size() == 1u);
  CHECK(p.verbs()[0].name == "ping");
  CHECK(p.verbs()[0].min_args == 0);
  CHECK(p.verbs()[0].max_args == 0);
  CHECK_FALSE(p.verbs()[0].blocking);

  Node node(kPing);
  OpResult r = node.dispatcher.Run(Op{"ping", {}});
  CheckOk(r, "");
  OpResult extra = node.dispatcher.Run(Op{"ping", {"x"}});
  CHECK(extra.status.code() == Code::kInvalidArgument);
  CHECK_THAT(extra.status.message(), Catch::StartsWith("usage: ping <id>"));

  PluginContext context;
  context.options["x"] = "y";
  Result<std::shared_ptr<Plugin>> refused = p.Create(context);
  REQUIRE_FALSE(refused.ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("takes no options"));
}

}  // namespace
}  // namespace arbor
