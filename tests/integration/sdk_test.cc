// The plugin SDK as a plugin author meets it: arbor-plugin-check on good and broken plugins, and
// an installed arbor that builds examples/plugins/sum out of tree with plain cmake and serves
// the new verb from a live node.
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

#include <catch2/catch.hpp>

#include "controller_process.h"
#include "processes.h"

namespace arbor::testing {
namespace {

namespace fs = std::filesystem;

std::string Check(const std::vector<std::string>& args, int* exit_code) {
  std::vector<std::string> argv = {BinDir() + "/arbor-plugin-check"};
  argv.insert(argv.end(), args.begin(), args.end());
  ProgramRun run = RunProgram(argv, 60s);
  INFO(run.output);
  REQUIRE_FALSE(run.timed_out);
  *exit_code = run.exit_code;
  return run.output;
}

std::string Plugin(const std::string& name) {
  return std::string(ARBOR_PLUGIN_DIR) + "/libarbor_" + name + ".so";
}
std::string Fixture(const std::string& name) {
  return std::string(ARBOR_TEST_PLUGIN_DIR) + "/libarbor_" + name + ".so";
}

// A directory removed when the test ends, however it ends.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string t = (fs::temp_directory_path() / "arbor-sdk-test.XXXXXX").string();
    REQUIRE(mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~ScratchDir() {
    std::error_code ignored;
    fs::remove_all(path, ignored);
  }
};

int CountLines(const fs::path& file) {
  std::ifstream in(file);
  return static_cast<int>(std::count(std::istreambuf_iterator<char>(in), {}, '\n'));
}

TEST_CASE("arbor-plugin-check passes the shipped plugins and the example", "[sdk]") {
  for (const std::vector<std::string>& args : std::vector<std::vector<std::string>>{
           {Plugin("dictionary")},
           {Plugin("dictionary"), "-o", "durability=fsync"},
           {Plugin("ping")},
           {ARBOR_EXAMPLE_PLUGIN_DIR "/libarbor_sum.so"}}) {
    int rc = -1;
    std::string out = Check(args, &rc);
    INFO(out);
    CHECK(rc == 0);
    CHECK(out.find("all 6 checks passed") != std::string::npos);
    CHECK(out.find("FAIL") == std::string::npos);
  }
}

TEST_CASE("arbor-plugin-check reports a throwing handler", "[sdk]") {
  int rc = -1;
  std::string out = Check({Fixture("thrower")}, &rc);
  INFO(out);
  CHECK(rc == 1);
  CHECK(out.find("FAIL  hostile arguments: errors are values, never exceptions\n"
                 "      boom: threw std::runtime_error (kaboom); return an error Status instead") !=
        std::string::npos);
}

TEST_CASE("arbor-plugin-check reports a slow inline verb, an oversized answer and a crash",
          "[sdk]") {
  int rc = -1;
  std::string out = Check({Fixture("sluggish")}, &rc);
  INFO(out);
  CHECK(rc == 1);
  CHECK(out.find("verb 'lazy' is not marked blocking, but `lazy` took ") != std::string::npos);
  CHECK(out.find("set .blocking = true") != std::string::npos);
  CHECK(out.find("huge: answered 70000 bytes; a reply carries at most 65536") !=
        std::string::npos);
  CHECK(out.find("the plugin crashed with signal 6 (Aborted) during crash abc") !=
        std::string::npos);
  // A crash fails its check only: the checks after it still ran.
  CHECK(out.find("FAIL  the blocking flag") != std::string::npos);
}

TEST_CASE("arbor-plugin-check refuses a library that is not a plugin", "[sdk]") {
  int rc = -1;
  std::string out = Check({Fixture("noentry")}, &rc);
  INFO(out);
  CHECK(rc == 2);
  CHECK(out.find("FAIL  load and create") != std::string::npos);
  CHECK(out.find("no arbor entry point") != std::string::npos);
  out = Check({Plugin("dictionary"), "-o", "durability=sometimes"}, &rc);
  CHECK(rc == 2);
  CHECK(out.find("option 'durability' of the dictionary is none, flush or fsync") !=
        std::string::npos);
}

TEST_CASE("an installed arbor builds the sum example out of tree and serves it", "[sdk]") {
  ScratchDir scratch;
  const fs::path prefix = scratch.path / "prefix";
  const fs::path build = scratch.path / "sum-build";
  const fs::path example = fs::path(ARBOR_SOURCE_DIR) / "examples/plugins/sum";

  ProgramRun run = RunProgram({ARBOR_CMAKE, "--install", ARBOR_BUILD_DIR, "--prefix",
                               prefix.string()}, 120s);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  // The plugin API is installed; the runtime's internals are not.
  CHECK(fs::exists(prefix / "include/arbor/plugin.h"));
  CHECK_FALSE(fs::exists(prefix / "include/arbor/message.h"));
  CHECK_FALSE(fs::exists(prefix / "include/arbor/node_link.h"));
  CHECK(fs::exists(prefix / "lib/arbor/plugins/libarbor_dictionary.so"));

  // The example as the issue promises it: under 40 lines of C++, a 5-line CMakeLists.txt.
  CHECK(CountLines(example / "sum.cc") < 40);
  CHECK(CountLines(example / "CMakeLists.txt") <= 5);

  run = RunProgram({ARBOR_CMAKE, "-S", example.string(), "-B", build.string(),
                    "-DCMAKE_PREFIX_PATH=" + prefix.string()}, 120s);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  run = RunProgram({ARBOR_CMAKE, "--build", build.string()}, 180s);
  INFO(run.output);
  REQUIRE(run.exit_code == 0);
  const fs::path library = build / "libarbor_sum.so";
  REQUIRE(fs::exists(library));

  run = RunProgram({(prefix / "bin/arbor-plugin-check").string(), library.string()}, 60s);
  INFO(run.output);
  CHECK(run.exit_code == 0);

  // The installed controller, the installed plugins (found with no environment variables) and
  // the new one, from its build directory.
  const fs::path config = scratch.path / "sum.yaml";
  std::ofstream(config) << "plugins:\n"
                        << "  search_path: [\"$ORIGIN/../lib/arbor/plugins\", \""
                        << build.string() << "\"]\n"
                        << "  load: [dictionary, ping, sum]\n";
  ControllerProcess arbor({"--config", config.string()}, ControllerProcess::Mode::kPipe, {},
                          (prefix / "bin/arbor").string());
  CHECK(arbor.Command("create 10") .rfind("Ok: ", 0) == 0);
  CHECK(arbor.Command("sum 10 3 1 2 3") == "Ok:10: 6");
  CHECK(arbor.Command("sum 10 2 9223372036854775807 1") == "Error:10: sum overflows");
  CHECK(arbor.Command("sum 10 2 1") == "Error:10: expected 2 numbers after n, got 1");
  CHECK(arbor.Command("exec 10 a 5") == "Ok:10");
  CHECK(arbor.Command("exec 10 a") == "Ok:10: 5");
  arbor.Send("help");
  bool listed = false;
  for (int i = 0; i < 40 && !listed; ++i) {
    std::optional<std::string> line = arbor.ReadLine(5s);
    if (!line) break;
    listed = line->find("sum <id> <n> <k1> ... <kn>") != std::string::npos;
  }
  CHECK(listed);
  arbor.CloseInput();
  CHECK(arbor.Wait(10s).has_value());
}

}  // namespace
}  // namespace arbor::testing
