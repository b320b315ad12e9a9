// The plugin loader against the broken fixtures in tests/plugins: every refusal names the file
// and says why, and none of them runs code of a plugin it refuses.
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "arbor/config.h"
#include "arbor/plugin_loader.h"
#include "arbor/dispatcher.h"

namespace arbor {
namespace {

namespace fs = std::filesystem;

// The path of a fixture from tests/plugins, which must have been built.
std::string Fixture(const std::string& name) {
  std::string path = std::string(ARBOR_TEST_PLUGIN_DIR) + "/libarbor_" + name + ".so";
  INFO("fixture " << path);
  REQUIRE(fs::exists(path));
  return path;
}
std::string Real(const std::string& name) {
  return std::string(ARBOR_PLUGIN_DIR) + "/libarbor_" + name + ".so";
}

// A fresh directory under the system temp dir, removed at the end of the test.
struct TempDir {
  TempDir() {
    static int n = 0;
    path = fs::temp_directory_path() /
           ("arbor-loader-test-" + std::to_string(getpid()) + "-" + std::to_string(n++));
    fs::create_directories(path);
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

Status LoadError(const std::string& path) {
  Result<LoadedPlugin> p = LoadPlugin(path);
  REQUIRE_FALSE(p.ok());
  return p.status();
}

LoadedPlugin Load(const std::string& path) {
  Result<LoadedPlugin> p = LoadPlugin(path);
  INFO(path << ": " << p.status().ToString());
  REQUIRE(p.ok());
  return std::move(p).value();
}

// Whether the dynamic linker has `path` mapped in this process (without loading it).
bool Mapped(const std::string& path) {
  void* h = dlopen(path.c_str(), RTLD_NOW | RTLD_NOLOAD);
  if (h == nullptr) return false;
  dlclose(h);
  return true;
}

TEST_CASE("loader: a missing file") {
  std::string path = std::string(ARBOR_TEST_PLUGIN_DIR) + "/nonexistent/libarbor_nothing.so";
  Status s = LoadError(path);
  CHECK(s.code() == Code::kNotFound);
  CHECK_THAT(s.message(), Catch::Contains(path));
}

TEST_CASE("loader: a file that is not a shared library") {
  TempDir dir;
  std::string path = (dir.path / "x.so").string();
  {
    std::FILE* f = std::fopen(path.c_str(), "w");
    REQUIRE(f != nullptr);
    std::fputs("this is not an ELF file, just some text pretending to be a library\n", f);
    std::fclose(f);
  }
  Status s = LoadError(path);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::Contains(path));
  CHECK_THAT(s.message(), Catch::Contains("not a loadable shared library"));

  std::string empty = (dir.path / "empty.so").string();
  std::fclose(std::fopen(empty.c_str(), "w"));
  Status e = LoadError(empty);
  CHECK_THAT(e.message(), Catch::Contains(empty));
  CHECK_THAT(e.message(), Catch::Contains("not a loadable shared library"));

  // A directory is not a library either.
  Status d = LoadError(dir.path.string());
  CHECK_THAT(d.message(), Catch::Contains(dir.path.string()));
}

TEST_CASE("loader: a truncated copy of a real plugin is refused") {
  std::string real = Real("dictionary");
  std::string bytes;
  {
    std::FILE* in = std::fopen(real.c_str(), "rb");
    REQUIRE(in != nullptr);
    char buf[65536];
    for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, in)) > 0;) bytes.append(buf, n);
    std::fclose(in);
  }
  REQUIRE(bytes.size() > 8192);
  TempDir dir;
  for (std::size_t size : {std::size_t{4}, std::size_t{64}, std::size_t{4096}, bytes.size() / 2,
                           bytes.size() - 1}) {
    std::string path = (dir.path / ("cut" + std::to_string(size) + ".so")).string();
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(std::fwrite(bytes.data(), 1, size, f) == size);
    std::fclose(f);
    INFO("truncated to " << size << " of " << bytes.size() << " bytes");
    Status s = LoadError(path);
    CHECK_THAT(s.message(), Catch::Contains(path));
    CHECK_FALSE(Mapped(path));
  }
}

TEST_CASE("loader: a library with no arbor entry point") {
  std::string path = Fixture("noentry");
  Status s = LoadError(path);
  CHECK(s.code() == Code::kInvalidArgument);
  CHECK_THAT(s.message(), Catch::Contains(path));
  CHECK_THAT(s.message(), Catch::Contains("no arbor entry point"));
  CHECK_THAT(s.message(), Catch::Contains("arbor_plugin_v1"));
  CHECK_FALSE(Mapped(path));
}

TEST_CASE("loader: a plugin for another API version is refused without running its code") {
  TempDir dir;
  fs::path marker = dir.path / "wrongversion-ran";
  REQUIRE(setenv("ARBOR_TEST_MARKER_FILE", marker.c_str(), 1) == 0);
  std::string path = Fixture("wrongversion");
  // Had the loader mapped the library, its static constructor would have aborted this process.
  Status s = LoadError(path);
  unsetenv("ARBOR_TEST_MARKER_FILE");
  CHECK(s.code() == Code::kFailedPrecondition);
  CHECK_THAT(s.message(), Catch::Contains(path));
  CHECK_THAT(s.message(), Catch::Contains("v999"));
  CHECK_THAT(s.message(), Catch::Contains("v1"));
  CHECK_FALSE(fs::exists(marker));
  CHECK_FALSE(Mapped(path));
}

TEST_CASE("loader: a plugin with an unresolved symbol fails to load and names it") {
  std::string path = Fixture("missingsymbol");
  Status s = LoadError(path);
  CHECK(s.code() == Code::kFailedPrecondition);
  CHECK_THAT(s.message(), Catch::Contains(path));
  CHECK_THAT(s.message(), Catch::Contains("arbor_test_symbol_that_does_not_exist"));
  CHECK_FALSE(Mapped(path));
}

TEST_CASE("loader: a plugin whose init fails") {
  std::string path = Fixture("failinit");
  LoadedPlugin p = Load(path);
  CHECK(p.name() == "failinit");
  CHECK(p.path() == path);
  PluginContext context;
  context.node_id = 4;
  Result<std::shared_ptr<Plugin>> instance = p.Create(context);
  REQUIRE_FALSE(instance.ok());
  CHECK(instance.status().code() == Code::kFailedPrecondition);
  CHECK_THAT(instance.status().message(), Catch::Contains("refusing to start"));
  CHECK_THAT(instance.status().message(), Catch::Contains("failinit"));
  CHECK_THAT(instance.status().message(), Catch::Contains(path));
}

TEST_CASE("loader: a throwing handler becomes an internal error and the plugin keeps serving") {
  LoadedPlugin p = Load(Fixture("thrower"));
  CHECK(p.name() == "thrower");
  REQUIRE(p.verbs().size() == 2u);
  CHECK(p.verbs()[0].name == "boom");
  CHECK(p.verbs()[1].name == "calm");
  Result<std::shared_ptr<Plugin>> instance = p.Create(PluginContext{});
  REQUIRE(instance.ok());
  Dispatcher d(8);
  for (const VerbInfo& v : p.verbs()) d.Add(v, *instance);

  for (int i = 0; i < 3; ++i) {
    OpResult boom = d.Run(Op{"boom", {}});
    CHECK(boom.status.code() == Code::kInternal);
    CHECK_THAT(boom.status.message(), Catch::Contains("kaboom"));
    CHECK_THAT(boom.status.message(), Catch::Contains("thrower"));
    CHECK_THAT(boom.status.message(), Catch::Contains("boom"));
    OpResult calm = d.Run(Op{"calm", {}});
    INFO(calm.status.ToString());
    CHECK(calm.status.ok());
    CHECK(calm.text == "fine");
  }
  OpResult arity = d.Run(Op{"calm", {"x"}});
  CHECK(arity.status.code() == Code::kInvalidArgument);
  CHECK(arity.status.message() == "usage: calm <id>");  // no trailing space for empty usage
}

TEST_CASE("loader: the slow fixture marks sleep as blocking and spin as not") {
  LoadedPlugin p = Load(Fixture("slow"));
  REQUIRE(p.verbs().size() == 2u);
  Result<std::shared_ptr<Plugin>> instance = p.Create(PluginContext{});
  REQUIRE(instance.ok());
  Dispatcher d(1);
  for (const VerbInfo& v : p.verbs()) d.Add(v, *instance);
  CHECK(d.Blocking(Op{"sleep", {"10"}}));
  CHECK_FALSE(d.Blocking(Op{"spin", {}}));
  OpResult slept = d.Run(Op{"sleep", {"1"}});
  CHECK(slept.status.ok());
  CHECK(slept.text == "slept");
  OpResult spun = d.Run(Op{"spin", {}});
  CHECK(spun.status.ok());
  CHECK(spun.text == "spun");
  CHECK(d.Run(Op{"sleep", {"soon"}}).status.code() == Code::kInvalidArgument);
}

TEST_CASE("loader: a plugin set loads what it can and records the rest") {
  std::string yaml = std::string("plugins:\n") + "  search_path: [\"" + ARBOR_PLUGIN_DIR + "\", \"" +
                     ARBOR_TEST_PLUGIN_DIR + "\"]\n" +
                     "  load: [dictionary, noentry, thrower]\n";
  Result<Config> config = LoadConfigString(yaml, "set.yaml");
  INFO(config.status().ToString());
  REQUIRE(config.ok());
  REQUIRE(config->plugins.size() == 3u);

  PluginSet set = LoadPluginSet(*config, config->plugins);
  REQUIRE(set.plugins.size() == 2u);
  REQUIRE(set.errors.size() == 1u);
  CHECK(set.plugins[0].name() == "dictionary");
  CHECK(set.plugins[1].name() == "thrower");
  CHECK(fs::equivalent(set.plugins[0].path(), Real("dictionary")));
  CHECK(fs::equivalent(set.plugins[1].path(), Fixture("thrower")));
  CHECK_THAT(set.errors[0].message(), Catch::StartsWith("plugin 'noentry': "));
  CHECK_THAT(set.errors[0].message(), Catch::Contains("libarbor_noentry.so"));
  CHECK_THAT(set.errors[0].message(), Catch::Contains("no arbor entry point"));
}

TEST_CASE("loader: a plugin set reports plugins it cannot find") {
  Result<Config> config = LoadConfigString(
      std::string("plugins:\n  search_path: [\"") + ARBOR_TEST_PLUGIN_DIR + "\"]\n", "x.yaml");
  REQUIRE(config.ok());
  std::vector<PluginSpec> specs = {{"thrower", "", {}}, {"nosuchplugin", "", {}}};
  PluginSet set = LoadPluginSet(*config, specs);
  REQUIRE(set.plugins.size() == 1u);
  REQUIRE(set.errors.size() == 1u);
  CHECK(set.errors[0].code() == Code::kNotFound);
  CHECK_THAT(set.errors[0].message(), Catch::Contains("nosuchplugin"));
}

TEST_CASE("loader: a verb served by two plugins is refused for the second") {
  Result<Config> config = LoadDefaultConfig();
  REQUIRE(config.ok());
  // The same library under two names: both serve `exec`.
  std::vector<PluginSpec> specs = {{"dictionary", Real("dictionary"), {}},
                                   {"dictionary2", Real("dictionary"), {}},
                                   {"ping", Real("ping"), {}}};
  PluginSet set = LoadPluginSet(*config, specs);
  REQUIRE(set.plugins.size() == 2u);
  CHECK(set.plugins[0].name() == "dictionary");
  CHECK(set.plugins[1].name() == "ping");
  REQUIRE(set.errors.size() == 1u);
  CHECK(set.errors[0].code() == Code::kInvalidArgument);
  CHECK_THAT(set.errors[0].message(), Catch::Contains("'exec'"));
  CHECK_THAT(set.errors[0].message(), Catch::Contains("already served"));
}

TEST_CASE("loader: an instance keeps its library mapped after the LoadedPlugin is gone") {
  std::string path = Fixture("thrower");
  REQUIRE_FALSE(Mapped(path));
  std::shared_ptr<Plugin> instance;
  std::vector<VerbInfo> verbs;
  {
    LoadedPlugin p = Load(path);
    CHECK(Mapped(path));
    Result<std::shared_ptr<Plugin>> made = p.Create(PluginContext{});
    REQUIRE(made.ok());
    instance = *made;
    verbs = p.verbs();
  }
  // The LoadedPlugin is destroyed; the instance alone keeps the code mapped.
  CHECK(Mapped(path));
  Result<std::string> r = instance->Handle(Call{"calm", {}});
  REQUIRE(r.ok());
  CHECK(*r == "fine");

  Dispatcher d(1);
  for (const VerbInfo& v : verbs) d.Add(v, instance);
  OpResult boom = d.Run(Op{"boom", {}});
  CHECK_THAT(boom.status.message(), Catch::Contains("kaboom"));

  // Dropping the last reference unmaps it.
  d = Dispatcher(1);
  instance.reset();
  CHECK_FALSE(Mapped(path));
}

}  // namespace
}  // namespace arbor
