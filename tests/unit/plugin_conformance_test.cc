// The plugin conformance suite: one set of checks that every well-formed plugin must pass, run
// over each plugin in kPlugins (real plugins from ARBOR_PLUGIN_DIR, fixtures from
// ARBOR_TEST_PLUGIN_DIR) with Catch2's GENERATE, the way nng's NUTS_DECLARE_TRAN_TESTS runs one
// suite over every transport. Each plugin is loaded as a node loads it and driven through the
// node's Dispatcher; nothing here calls Plugin::Handle directly.
//
// To add a plugin: append a row to kPlugins with the directory it is built into and one cheap,
// valid call (CheapCall) used by the concurrency and lifetime checks, and make the test target
// depend on the plugin's target in tests/unit/CMakeLists.txt.
#include <dlfcn.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "arbor/message.h"
#include "arbor/plugin_loader.h"
#include "arbor/dispatcher.h"

namespace arbor {
namespace {

constexpr NodeId kNodeId = 42;

// One cheap call that must succeed, and the text it must answer.
struct Expected {
  Op op;
  std::string text;
};

// The i-th cheap, valid call thread t makes against a plugin (see kPlugins).
using CheapCall = Expected (*)(int t, int i);

Expected DictionaryCall(int t, int i) {
  // Even calls set a per-thread key, odd calls read it back; names are letters and digits.
  std::string key = "t" + std::to_string(t) + "k" + std::to_string(i / 2);
  std::string value = std::to_string(std::int64_t{t} * -1000003 + i / 2);
  if (i % 2 == 0) return {Op{"exec", {key, value}}, ""};
  return {Op{"exec", {key}}, value};
}
Expected PingCall(int, int) {
  return {Op{"ping", {}}, ""};
}
Expected ThrowerCall(int, int) {
  return {Op{"calm", {}}, "fine"};
}
Expected SlowCall(int, int) {
  return {Op{"spin", {}}, "spun"};
}

struct PluginUnderTest {
  const char* name;
  const char* dir;
  CheapCall cheap;
};

const PluginUnderTest kPlugins[] = {
    {"dictionary", ARBOR_PLUGIN_DIR, &DictionaryCall},
    {"ping", ARBOR_PLUGIN_DIR, &PingCall},
    {"thrower", ARBOR_TEST_PLUGIN_DIR, &ThrowerCall},
    {"slow", ARBOR_TEST_PLUGIN_DIR, &SlowCall},
};

const PluginUnderTest& Find(const std::string& name) {
  for (const PluginUnderTest& p : kPlugins) {
    if (name == p.name) return p;
  }
  FAIL("no plugin '" << name << "' in kPlugins");
  throw std::logic_error("unreachable");
}

std::string PathOf(const PluginUnderTest& p) {
  return std::string(p.dir) + "/libarbor_" + p.name + ".so";
}

// The plugin the current GENERATE branch is about.
#define ARBOR_EACH_PLUGIN()                                                       \
  const PluginUnderTest& plugin =                                                 \
      Find(GENERATE(as<std::string>{}, "dictionary", "ping", "thrower", "slow")); \
  INFO("plugin " << plugin.name << " (" << PathOf(plugin) << ")")

// Whether the dynamic linker has `path` mapped in this process (without loading it).
bool Mapped(const std::string& path) {
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (h == nullptr) return false;
  dlclose(h);
  return true;
}

// A plugin loaded and served by a Dispatcher, as a node serves it.
struct Served {
  explicit Served(const PluginUnderTest& p) : path(PathOf(p)), dispatcher(kNodeId) {
    Result<LoadedPlugin> loaded = LoadPlugin(path);
    INFO(loaded.status().ToString());
    REQUIRE(loaded.ok());
    verbs = loaded->verbs();
    name = loaded->name();
    PluginContext context;
    context.node_id = kNodeId;
    Result<std::shared_ptr<Plugin>> made = loaded->Create(context);
    INFO(made.status().ToString());
    REQUIRE(made.ok());
    REQUIRE(*made != nullptr);
    instance = *made;
    for (const VerbInfo& v : verbs) dispatcher.Add(v, instance);
  }
  std::string path;
  std::string name;
  std::vector<VerbInfo> verbs;
  std::shared_ptr<Plugin> instance;
  Dispatcher dispatcher;
};

// Runs `op` on the main thread; an exception escaping the Dispatcher is a failure (check 7).
OpResult Run(const Dispatcher& d, const Op& op) {
  OpResult r{Internal("Run threw"), {}};
  CHECK_NOTHROW(r = d.Run(op));
  return r;
}

std::vector<std::string> Args(int n, const std::string& each) {
  return std::vector<std::string>(static_cast<std::size_t>(n), each);
}

std::string ExpectedUsage(const VerbInfo& v) {
  return "usage: " + v.name + " <id>" + (v.usage.empty() ? "" : " " + v.usage);
}

// `threads` threads x `calls` cheap calls through `d`; returns how many did not answer OK with
// the expected text.
// Catch assertions are not thread-safe, so the threads only count.
int Burst(const Dispatcher& d, const PluginUnderTest& p, int threads, int calls) {
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&d, &p, &failures, t, calls] {
      for (int i = 0; i < calls; ++i) {
        Expected e = p.cheap(t, i);
        try {
          OpResult r = d.Run(e.op);
          if (!r.status.ok() || r.text != e.text) failures.fetch_add(1);
        } catch (...) {
          failures.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& th : pool) th.join();
  return failures.load();
}

// --- 1. Descriptor ---------------------------------------------------------------------------

TEST_CASE("conformance: loads and describes its verbs well") {
  ARBOR_EACH_PLUGIN();
  Result<LoadedPlugin> loaded = LoadPlugin(PathOf(plugin));
  INFO(loaded.status().ToString());
  REQUIRE(loaded.ok());
  CHECK(loaded->name() == plugin.name);
  CHECK(loaded->path() == PathOf(plugin));
  REQUIRE_FALSE(loaded->verbs().empty());

  const std::regex verb_name("[a-z][a-z0-9_]*");
  std::set<std::string> seen;
  Served served(plugin);
  for (const VerbInfo& v : loaded->verbs()) {
    INFO("verb '" << v.name << "'");
    CHECK(std::regex_match(v.name, verb_name));
    CHECK_FALSE(v.help.empty());
    CHECK(v.min_args >= 0);
    CHECK(v.min_args <= v.max_args);
    CHECK(static_cast<std::size_t>(v.max_args) <= kMaxArgsPerOp);
    CHECK(v.plugin == plugin.name);
    CHECK(seen.insert(v.name).second);  // unique within the plugin
    CHECK(served.dispatcher.Blocking(Op{v.name, Args(v.min_args, "1")}) == v.blocking);
  }
  // The dispatcher serves exactly the verbs the descriptor lists.
  std::set<std::string> served_names;
  for (const VerbInfo& v : served.dispatcher.verbs()) served_names.insert(v.name);
  CHECK(served_names == seen);
}

// --- 2. Arity is enforced by the dispatcher, with a usage message --------------------------

TEST_CASE("conformance: a wrong argument count answers usage") {
  ARBOR_EACH_PLUGIN();
  Served served(plugin);
  for (const VerbInfo& v : served.verbs) {
    INFO("verb '" << v.name << "' takes " << v.min_args << ".." << v.max_args);
    std::vector<int> bad = {v.max_args + 1};
    if (v.min_args > 0) bad.push_back(v.min_args - 1);
    for (int n : bad) {
      INFO(n << " args");
      OpResult r = Run(served.dispatcher, Op{v.name, Args(n, "1")});
      INFO(r.status.ToString());
      CHECK(r.status.code() == Code::kInvalidArgument);
      CHECK_THAT(r.status.message(), Catch::StartsWith("usage: " + v.name + " <id>"));
      CHECK(r.status.message() == ExpectedUsage(v));
      CHECK(r.text.empty());
    }
  }
}

// --- 3. Unknown verbs ------------------------------------------------------------------------

TEST_CASE("conformance: an unknown verb answers unknown-verb") {
  ARBOR_EACH_PLUGIN();
  Served served(plugin);
  for (int n : {0, 1, 3}) {
    OpResult r = Run(served.dispatcher, Op{"no_such_verb_xyz", Args(n, "x")});
    INFO(r.status.ToString());
    CHECK(r.status.code() == Code::kUnknownVerb);
    CHECK_THAT(r.status.message(), Catch::Contains("no_such_verb_xyz"));
    CHECK(r.text.empty());
  }
  CHECK_FALSE(served.dispatcher.Blocking(Op{"no_such_verb_xyz", {}}));
  // The empty verb and a prefix of a real verb are unknown too.
  CHECK(Run(served.dispatcher, Op{"", {}}).status.code() == Code::kUnknownVerb);
  const std::string prefix = served.verbs[0].name.substr(0, served.verbs[0].name.size() - 1);
  CHECK(Run(served.dispatcher, Op{prefix, {}}).status.code() == Code::kUnknownVerb);
}

// --- 4. Arguments of the largest size the wire allows --------------------------------------

TEST_CASE("conformance: arguments of kMaxStringBytes are handled and not amplified") {
  ARBOR_EACH_PLUGIN();
  Served served(plugin);
  // All 'a': not a number, so `slow sleep` refuses it at once instead of sleeping.
  const std::string huge(kMaxStringBytes, 'a');
  for (const VerbInfo& v : served.verbs) {
    if (v.max_args == 0) continue;
    for (int n = std::max(v.min_args, 1); n <= v.max_args; ++n) {
      INFO("verb '" << v.name << "' with " << n << " args of " << huge.size() << " bytes");
      auto start = std::chrono::steady_clock::now();
      OpResult r = Run(served.dispatcher, Op{v.name, Args(n, huge)});
      auto took = std::chrono::steady_clock::now() - start;
      CHECK(took < std::chrono::milliseconds(100));
      // An answer or an error may quote an argument once, not more.
      CHECK(r.status.message().size() < 1024 + kMaxStringBytes);
      CHECK(r.text.size() < 1024 + kMaxStringBytes);
      if (r.status.code() == Code::kInternal) {
        FAIL_CHECK("a well-formed plugin does not fail internally on a long argument: "
                   << r.status.message().substr(0, 200));
      }
    }
  }
  // The plugin still serves afterwards.
  Expected e = plugin.cheap(0, 0);
  OpResult after = Run(served.dispatcher, e.op);
  INFO(after.status.ToString());
  CHECK(after.status.ok());
  CHECK(after.text == e.text);
}

// --- 5. Concurrency ---------------------------------------------------------------------------

TEST_CASE("conformance: 8 threads x 2000 cheap calls all succeed") {
  ARBOR_EACH_PLUGIN();
  Served served(plugin);
  CHECK(Burst(served.dispatcher, plugin, 8, 2000) == 0);
  // For the dictionary, every value written is still there afterwards.
  for (int t = 0; t < 8; ++t) {
    Expected e = plugin.cheap(t, 1999);
    OpResult r = Run(served.dispatcher, e.op);
    CHECK(r.status.ok());
    CHECK(r.text == e.text);
  }
}

// --- 6. Lifetime: an instance outlives every call that uses it -----------------------------

TEST_CASE("conformance: destroying the instance after a joined burst") {
  ARBOR_EACH_PLUGIN();
  std::weak_ptr<Plugin> weak;
  {
    Served served(plugin);
    weak = served.instance;
    CHECK(Burst(served.dispatcher, plugin, 4, 500) == 0);
    CHECK(Mapped(served.path));
  }  // the dispatcher, the instance and the LoadedPlugin go here, on this thread
  CHECK(weak.expired());
}

TEST_CASE("conformance: the last reference dropped by a calling thread") {
  ARBOR_EACH_PLUGIN();
  std::weak_ptr<Plugin> weak;
  std::atomic<int> failures{0};
  std::vector<std::thread> pool;
  {
    Served served(plugin);
    weak = served.instance;
    for (int t = 0; t < 4; ++t) {
      // Each thread owns a copy of the dispatcher, and with it a reference to the instance.
      pool.emplace_back([d = served.dispatcher, &plugin, &failures, t] {
        for (int i = 0; i < 500; ++i) {
          Expected e = plugin.cheap(t, i);
          try {
            OpResult r = d.Run(e.op);
            if (!r.status.ok() || r.text != e.text) failures.fetch_add(1);
          } catch (...) {
            failures.fetch_add(1);
          }
        }
      });
    }
  }  // the main thread's references are gone while the threads may still be calling
  for (std::thread& th : pool) th.join();
  CHECK(failures.load() == 0);
  CHECK(weak.expired());
}

TEST_CASE("conformance: slow: an instance stays alive until an in-flight call returns") {
  const PluginUnderTest& plugin = Find("slow");
  std::weak_ptr<Plugin> weak;
  std::string path;
  std::atomic<bool> entered{false};
  std::atomic<bool> returned{false};
  OpResult result{Internal("not run"), {}};
  bool threw = false;
  std::thread caller;
  long verb_count = 0;
  {
    auto served = std::make_unique<Served>(plugin);
    weak = served->instance;
    path = served->path;
    verb_count = static_cast<long>(served->verbs.size());
    // The thread owns a Dispatcher copy: after the block below it is the only owner.
    caller = std::thread([d = served->dispatcher, &entered, &returned, &result, &threw] {
      entered.store(true);
      try {
        result = d.Run(Op{"sleep", {"300"}});
      } catch (...) {
        threw = true;
      }
      returned.store(true);
    });
    while (!entered.load()) std::this_thread::yield();
    // Let the call get well into its 300 ms sleep before the main thread lets go.
    std::this_thread::sleep_for(std::chrono::milliseconds(30));
    served.reset();  // the main dispatcher, the instance pointer and the LoadedPlugin
  }
  // The call is still in flight, and the thread's dispatcher copy keeps the plugin alive.
  CHECK_FALSE(returned.load());
  CHECK_FALSE(weak.expired());
  CHECK(weak.use_count() == verb_count);  // one per verb entry in the thread's dispatcher copy
  CHECK(Mapped(path));
  caller.join();
  CHECK_FALSE(threw);
  INFO(result.status.ToString());
  CHECK(result.status.ok());
  CHECK(result.text == "slept");
  // The copy died with the thread, and with it the last reference.
  CHECK(weak.expired());
  // The shared_ptr deleter holds the library, and a weak_ptr keeps the deleter alive: let go of
  // it too, and the library is unmapped. (Only checked here: a plugin that has an STB_GNU_UNIQUE
  // symbol, such as the dictionary through std::to_string, is made NODELETE by glibc and stays
  // mapped for the life of the process.)
  weak.reset();
  CHECK_FALSE(Mapped(path));
}

// --- 7. Exceptions never escape the dispatcher -----------------------------------------------

TEST_CASE("conformance: every verb returns through the dispatcher without throwing") {
  ARBOR_EACH_PLUGIN();
  Served served(plugin);
  for (const VerbInfo& v : served.verbs) {
    // Each arity the verb accepts, with arguments that are small valid-looking numbers ("1":
    // a dictionary name or value, a 1 ms sleep).
    for (int n = v.min_args; n <= v.max_args; ++n) {
      INFO("verb '" << v.name << "' with " << n << " args");
      OpResult r = Run(served.dispatcher, Op{v.name, Args(n, "1")});
      INFO(r.status.ToString());
      if (!r.status.ok()) CHECK_FALSE(r.status.message().empty());
      if (r.status.code() == Code::kInternal) {
        // Only the thrower's boom may fail internally, and the message says where.
        CHECK(std::string(plugin.name) == "thrower");
        CHECK_THAT(r.status.message(), Catch::Contains(plugin.name));
        CHECK_THAT(r.status.message(), Catch::Contains(v.name));
      }
    }
  }
}

TEST_CASE("conformance: thrower: boom is an internal error and the plugin keeps serving") {
  Served served(Find("thrower"));
  for (int i = 0; i < 3; ++i) {
    OpResult boom = Run(served.dispatcher, Op{"boom", {}});
    CHECK(boom.status.code() == Code::kInternal);
    CHECK_THAT(boom.status.message(), Catch::Contains("kaboom"));
    CHECK_THAT(boom.status.message(), Catch::Contains("'thrower'"));
    CHECK_THAT(boom.status.message(), Catch::Contains("'boom'"));
    CHECK(boom.text.empty());
    OpResult calm = Run(served.dispatcher, Op{"calm", {}});
    CHECK(calm.status.ok());
    CHECK(calm.text == "fine");
  }
  // Throwing from many threads at once is contained too.
  std::atomic<int> escaped{0};
  std::atomic<int> not_internal{0};
  std::vector<std::thread> pool;
  for (int t = 0; t < 8; ++t) {
    pool.emplace_back([&served, &escaped, &not_internal] {
      for (int i = 0; i < 200; ++i) {
        try {
          if (served.dispatcher.Run(Op{"boom", {}}).status.code() != Code::kInternal) {
            not_internal.fetch_add(1);
          }
        } catch (...) {
          escaped.fetch_add(1);
        }
      }
    });
  }
  for (std::thread& th : pool) th.join();
  CHECK(escaped.load() == 0);
  CHECK(not_internal.load() == 0);
}

}  // namespace
}  // namespace arbor
