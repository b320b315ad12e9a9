#include "checks.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <mutex>
#include <string_view>
#include <thread>
#include <typeinfo>

#include <boost/core/demangle.hpp>
#include <fmt/format.h>

#include "arbor/dispatcher.h"
#include "arbor/message.h"
#include "arbor/plugin_loader.h"

namespace arbor::plugin_check {
namespace {

using Clock = std::chrono::steady_clock;
using Problems = std::vector<std::string>;

constexpr NodeId kNodeId = 42;
constexpr int kThreads = 8;

// One loaded plugin and one instance, wired into a Dispatcher as a node wires it.
struct Instance {
  LoadedPlugin loaded;
  std::shared_ptr<Plugin> plugin;
  Dispatcher dispatcher{kNodeId};
};

Result<std::unique_ptr<Instance>> Load(const Target& target) {
  Result<LoadedPlugin> loaded = LoadPlugin(target.path);
  if (!loaded.ok()) return loaded.status();
  PluginContext context;
  context.node_id = kNodeId;
  context.options = target.options;
  context.data_dir = target.data_dir;
  Result<std::shared_ptr<Plugin>> plugin = loaded->Create(context);
  if (!plugin.ok()) return plugin.status();
  auto instance = std::make_unique<Instance>();
  instance->loaded = std::move(loaded).value();
  instance->plugin = std::move(plugin).value();
  for (const VerbInfo& v : instance->loaded.verbs()) instance->dispatcher.Add(v, instance->plugin);
  return instance;
}

// Arguments a node may be handed: empty, numbers at and past the int64 limits, words, spaces,
// bytes that are not UTF-8, and long ones.
const std::vector<std::string>& ArgPool() {
  static const std::vector<std::string> pool = {
      "", "0", "1", "-1", "42", "9223372036854775807", "-9223372036854775808",
      "9223372036854775808", "abc", "MyVar", "a b", "\xff\xfe\x01", "-", "+1", "1e3", "0x10",
      std::string(1000, '9'), std::string(300, 'z')};
  return pool;
}

// The arities worth trying: both ends of the declared range and a few just inside them.
std::vector<int> Arities(const VerbInfo& v) {
  std::vector<int> out;
  for (int a = v.min_args; a <= v.max_args && a <= v.min_args + 3; ++a) out.push_back(a);
  for (int a = std::max(v.min_args + 4, v.max_args - 1); a <= v.max_args; ++a) out.push_back(a);
  return out;
}

std::vector<std::string> ArgsFor(int arity, int variant) {
  const auto& pool = ArgPool();
  std::vector<std::string> args;
  for (int j = 0; j < arity; ++j) args.push_back(pool[(variant * 7 + j * 3) % pool.size()]);
  return args;
}

// How a call reads in a report: the verb and its arguments, long or odd ones abbreviated.
std::string Show(const Op& op) {
  std::string out = op.verb;
  for (const std::string& a : op.args) {
    std::string shown;
    for (unsigned char c : a.substr(0, 24)) {
      shown += (c >= 0x20 && c < 0x7f) ? std::string(1, char(c)) : fmt::format("\\x{:02x}", c);
    }
    if (a.size() > 24) shown += fmt::format("...({} bytes)", a.size());
    out += ' ';  // appended piecewise: GCC 12 -O3 warns falsely (-Wrestrict) on " " + string
    out += a.empty() ? std::string("''") : shown;
  }
  return out;
}

// Calls the handler directly (the Dispatcher would turn an exception into an error reply, and
// hide it), and reports an exception or an answer too large for a reply.
void CallHandler(Instance& in, const Op& op, const Note& note, Problems& problems,
                 Clock::duration* took = nullptr) {
  note(Show(op));
  auto start = Clock::now();
  try {
    Result<std::string> r = in.plugin->Handle(Call{op.verb, op.args});
    if (r.ok() && r->size() > kMaxStringBytes) {
      problems.push_back(fmt::format("{}: answered {} bytes; a reply carries at most {}",
                                     Show(op), r->size(), kMaxStringBytes));
    }
  } catch (const std::exception& e) {
    problems.push_back(fmt::format("{}: threw {} ({}); return an error Status instead", Show(op),
                                   boost::core::demangle(typeid(e).name()), e.what()));
  } catch (...) {
    problems.push_back(fmt::format("{}: threw; return an error Status instead", Show(op)));
  }
  if (took) *took = Clock::now() - start;
}

void SyncOnce(Instance& in, const Note& note, Problems& problems) {
  note("Sync()");
  try {
    if (Status s = in.plugin->Sync(); !s.ok()) {
      problems.push_back(fmt::format("Sync() failed: {}", s.ToString()));
    }
  } catch (const std::exception& e) {
    problems.push_back(fmt::format("Sync() threw ({}); return a Status instead", e.what()));
  }
}

// Runs `body` on a fresh instance, or reports why there is none.
template <typename Body>
Problems WithInstance(const Target& target, Body body) {
  Result<std::unique_ptr<Instance>> in = Load(target);
  if (!in.ok()) return {in.status().message()};
  Problems problems;
  body(**in, problems);
  return problems;
}

Problems CheckDeclarations(const Target& target, const Note&) {
  static const char* kBuiltins[] = {"create", "remove", "pingall", "tree", "info", "help", "exit",
                                    "quit"};
  return WithInstance(target, [](Instance& in, Problems& problems) {
    for (const VerbInfo& v : in.loaded.verbs()) {
      if (std::find(std::begin(kBuiltins), std::end(kBuiltins), v.name) != std::end(kBuiltins)) {
        problems.push_back(fmt::format(
            "verb '{}' is a controller command; the controller never sends it", v.name));
      }
      if (v.help.empty()) problems.push_back(fmt::format("verb '{}' has no help text", v.name));
      if (v.usage.empty() && v.max_args > 0) {
        problems.push_back(fmt::format("verb '{}' takes arguments but its usage is empty", v.name));
      }
    }
  });
}

Problems CheckArity(const Target& target, const Note& note) {
  return WithInstance(target, [&](Instance& in, Problems& problems) {
    for (const VerbInfo& v : in.loaded.verbs()) {
      // The declared range is handled (simple arguments at every arity)...
      for (int arity : Arities(v)) {
        CallHandler(in, Op{v.name, std::vector<std::string>(std::size_t(arity), "1")}, note,
                    problems);
      }
      // ...and the node refuses anything outside it before the handler runs.
      std::vector<int> outside;
      if (v.min_args > 0) outside.push_back(v.min_args - 1);
      if (v.max_args < int(kMaxArgsPerOp)) outside.push_back(v.max_args + 1);
      for (int arity : outside) {
        Op op{v.name, std::vector<std::string>(std::size_t(arity), "1")};
        note(Show(op));
        OpResult r = in.dispatcher.Run(op);
        if (r.status.code() != Code::kInvalidArgument) {
          problems.push_back(fmt::format("{} with {} arguments answered '{}', not a usage error",
                                         v.name, arity, r.status.ToString()));
        }
      }
    }
    Op unknown{"arbor_check_no_such_verb", {}};
    note(Show(unknown));
    if (OpResult r = in.dispatcher.Run(unknown); r.status.code() != Code::kUnknownVerb) {
      problems.push_back(fmt::format("an unknown verb answered '{}'", r.status.ToString()));
    }
  });
}

Problems CheckHostileArguments(const Target& target, const Note& note) {
  return WithInstance(target, [&](Instance& in, Problems& problems) {
    for (const VerbInfo& v : in.loaded.verbs()) {
      for (int arity : Arities(v)) {
        for (int variant = 0; variant < (arity == 0 ? 1 : 24); ++variant) {
          CallHandler(in, Op{v.name, ArgsFor(arity, variant)}, note, problems);
        }
      }
    }
    SyncOnce(in, note, problems);
  });
}

Problems CheckOversized(const Target& target, const Note& note) {
  return WithInstance(target, [&](Instance& in, Problems& problems) {
    for (const VerbInfo& v : in.loaded.verbs()) {
      int arity = std::clamp(4, v.min_args, v.max_args);
      for (char fill : {'9', 'a'}) {
        std::vector<std::string> args(std::size_t(arity), std::string(kMaxStringBytes, fill));
        CallHandler(in, Op{v.name, args}, note, problems);
      }
    }
    SyncOnce(in, note, problems);
  });
}

Problems CheckConcurrent(const Target& target, const Note& note) {
  return WithInstance(target, [&](Instance& in, Problems& problems) {
    std::mutex mu;
    std::vector<std::thread> threads;
    for (int t = 0; t < kThreads; ++t) {
      threads.emplace_back([&, t] {
        Problems mine;
        Note quiet = [](const std::string&) {};
        for (int i = 0; i < 100; ++i) {
          for (const VerbInfo& v : in.loaded.verbs()) {
            std::vector<int> arities = Arities(v);
            int arity = arities[std::size_t(i + t) % arities.size()];
            CallHandler(in, Op{v.name, ArgsFor(arity, i * kThreads + t)}, quiet, mine);
          }
        }
        std::lock_guard lock(mu);
        problems.insert(problems.end(), mine.begin(), mine.end());
      });
    }
    note(fmt::format("{} threads calling every verb at once", kThreads));
    for (std::thread& t : threads) t.join();
    SyncOnce(in, note, problems);
  });
}

Problems CheckBlockingFlag(const Target& target, const Note& note) {
  return WithInstance(target, [&](Instance& in, Problems& problems) {
    for (const VerbInfo& v : in.loaded.verbs()) {
      Op probe{v.name, {}};
      if (in.dispatcher.Blocking(probe)) continue;  // runs on a worker thread: may take long
      Clock::duration slowest{};
      Op slowest_op;
      for (int arity : Arities(v)) {
        for (int variant = 0; variant < (arity == 0 ? 3 : 12); ++variant) {
          Op op{v.name, ArgsFor(arity, variant)};
          Clock::duration took{};
          CallHandler(in, op, note, problems, &took);
          if (took > slowest) {
            slowest = took;
            slowest_op = op;
          }
        }
      }
      auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(slowest);
      if (ms > target.max_inline) {
        problems.push_back(fmt::format(
            "verb '{}' is not marked blocking, but `{}` took {} ms (limit {} ms): it runs on the "
            "node's I/O threads and stalls every request behind it; set .blocking = true",
            v.name, Show(slowest_op), ms.count(), target.max_inline.count()));
      }
    }
  });
}

}  // namespace

Result<Summary> Describe(const Target& target) {
  Result<std::unique_ptr<Instance>> in = Load(target);
  if (!in.ok()) return in.status();
  std::string verbs;
  int blocking = 0;
  for (const VerbInfo& v : (*in)->loaded.verbs()) {
    verbs += (verbs.empty() ? "" : ", ") + v.name;
    blocking += (*in)->dispatcher.Blocking(Op{v.name, {}}) ? 1 : 0;
  }
  return Summary{fmt::format("plugin '{}', API v{}, verbs: {} ({} blocking)",
                             (*in)->loaded.name(), kPluginApiVersion, verbs, blocking)};
}

const std::vector<Check>& AllChecks() {
  static const std::vector<Check> checks = {
      {"verbs are well declared (not a controller command, usage and help given)",
       &CheckDeclarations},
      {"arity: every declared arity is handled, too few or too many arguments and an unknown "
       "verb are refused",
       &CheckArity},
      {"hostile arguments: errors are values, never exceptions", &CheckHostileArguments},
      {"oversized arguments (64 KiB each)", &CheckOversized},
      {"concurrent calls from 8 threads", &CheckConcurrent},
      {"the blocking flag: verbs not marked blocking answer quickly", &CheckBlockingFlag},
  };
  return checks;
}

}  // namespace arbor::plugin_check
