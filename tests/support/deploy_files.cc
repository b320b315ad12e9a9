#include "deploy_files.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

namespace arbor::testing {
namespace {

[[noreturn]] void Fail(const std::string& where, const std::string& what) {
  throw std::runtime_error(where + ": " + what);
}

std::string Trim(const std::string& s) {
  const char* space = " \t\r";
  std::size_t begin = s.find_first_not_of(space);
  if (begin == std::string::npos) return "";
  return s.substr(begin, s.find_last_not_of(space) - begin + 1);
}

// The file's logical lines: systemd joins a line ending in a backslash with the next one.
std::vector<std::string> LogicalLines(const std::string& path) {
  std::ifstream in(path);
  if (!in) Fail(path, "cannot open");
  std::vector<std::string> lines;
  std::string pending;
  for (std::string line; std::getline(in, line);) {
    std::string t = Trim(line);
    if (!t.empty() && t.back() == '\\') {
      t.pop_back();
      pending += t + " ";
      continue;
    }
    lines.push_back(pending + t);
    pending.clear();
  }
  if (!pending.empty()) lines.push_back(pending);
  return lines;
}

std::vector<std::string> SplitWhitespace(const std::string& s) {
  std::istringstream in(s);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// %i becomes the instance id and %% a percent sign; other specifiers need a running systemd.
std::string ExpandSpecifiers(const std::string& s, long long id) {
  std::string out;
  for (std::size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    char spec = i + 1 < s.size() ? s[i + 1] : '\0';
    if (spec == 'i') {
      out += std::to_string(id);
    } else if (spec == '%') {
      out += '%';
    } else {
      Fail("ExecStart", std::string("unsupported specifier %") + spec + " in '" + s + "'");
    }
    ++i;
  }
  return out;
}

YAML::Node LoadSingleDocument(const std::string& path) {
  std::vector<YAML::Node> docs;
  try {
    docs = YAML::LoadAllFromFile(path);
  } catch (const YAML::Exception& e) {
    Fail(path, e.what());
  }
  if (docs.size() != 1)
    Fail(path, "expected one YAML document, got " + std::to_string(docs.size()));
  return docs.front();
}

// Reads everything from `fd` until end of file.
std::string ReadAll(int fd) {
  std::string out;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// Runs /bin/sh -c `script` with exactly `env`, and returns its standard output.
std::string RunShell(const std::string& script, const std::map<std::string, std::string>& env) {
  std::vector<std::string> env_strings;
  for (const auto& [name, value] : env) env_strings.push_back(name + "=" + value);
  std::vector<char*> envp;
  for (std::string& e : env_strings) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::string sh = "/bin/sh", c = "-c", body = script;
  char* argv[] = {sh.data(), c.data(), body.data(), nullptr};

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) Fail("/bin/sh", std::strerror(errno));
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, out[1], STDOUT_FILENO);
  pid_t pid = -1;
  int rc = ::posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv, envp.data());
  posix_spawn_file_actions_destroy(&actions);
  ::close(out[1]);
  if (rc != 0) {
    ::close(out[0]);
    Fail("/bin/sh", std::strerror(rc));
  }
  std::string text = ReadAll(out[0]);
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) Fail("/bin/sh", "failed on: " + script);
  return text;
}

}  // namespace

std::vector<std::string> UnitFile::Values(const std::string& section,
                                          const std::string& key) const {
  std::vector<std::string> out;
  auto it = sections.find(section);
  if (it == sections.end()) return out;
  for (const auto& [k, v] : it->second) {
    if (k == key) out.push_back(v);
  }
  return out;
}

UnitFile ReadUnitFile(const std::string& path) {
  UnitFile unit;
  std::string section;
  for (const std::string& line : LogicalLines(path)) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      section = line.substr(1, line.size() - 2);
      unit.sections[section];
      continue;
    }
    std::size_t eq = line.find('=');
    if (eq == std::string::npos) Fail(path, "not an assignment: " + line);
    if (section.empty()) Fail(path, "assignment before any [Section]: " + line);
    unit.sections[section].emplace_back(Trim(line.substr(0, eq)), Trim(line.substr(eq + 1)));
  }
  return unit;
}

std::string SystemdExecStart(const std::string& unit_path) {
  std::vector<std::string> commands;
  for (const std::string& v : ReadUnitFile(unit_path).Values("Service", "ExecStart")) {
    if (v.empty()) {
      commands.clear();  // systemd: an empty assignment resets the list
    } else {
      commands.push_back(v);
    }
  }
  if (commands.empty()) Fail(unit_path, "no ExecStart= in [Service]");
  if (commands.size() > 1) Fail(unit_path, "ExecStart= is given more than once");
  return commands.front();
}

std::vector<std::string> InstanceCommand(const std::string& exec_start, long long id) {
  if (exec_start.find_first_of("\"'\\$") != std::string::npos) {
    Fail("ExecStart", "quotes, backslashes and $ are not handled: " + exec_start);
  }
  std::string trimmed = Trim(exec_start);
  if (trimmed.empty()) Fail("ExecStart", "empty");
  if (std::strchr("-@:+!", trimmed.front()) != nullptr) {
    Fail("ExecStart", "exec prefixes are not handled: " + exec_start);
  }
  return SplitWhitespace(ExpandSpecifiers(trimmed, id));
}

std::vector<std::string> K8sContainerCommand(const std::string& statefulset_path) {
  YAML::Node doc = LoadSingleDocument(statefulset_path);
  if (!doc.IsMap() || doc["kind"].as<std::string>("") != "StatefulSet")
    Fail(statefulset_path, "not a StatefulSet");
  YAML::Node containers = doc["spec"]["template"]["spec"]["containers"];
  if (!containers.IsSequence() || containers.size() != 1) {
    Fail(statefulset_path, "expected exactly one container in spec.template.spec.containers");
  }
  YAML::Node command = containers[0]["command"];
  if (!command.IsSequence() || command.size() == 0) {
    Fail(statefulset_path, "the container has no command array");
  }
  return command.as<std::vector<std::string>>();
}

std::vector<std::string> ExecScriptArgv(const std::string& script,
                                        const std::map<std::string, std::string>& env) {
  std::string trimmed = Trim(script);
  // Anything that makes it more than one simple command, or runs code while expanding.
  bool simple = trimmed.find_first_of(";&|<>`\n") == std::string::npos &&
                trimmed.find("$(") == std::string::npos;
  if (!simple || trimmed.rfind("exec ", 0) != 0) {
    Fail("sh -c", "not a single 'exec <words>' command: " + script);
  }
  // The shell prints the words exec would have run, each ended by a NUL, which no word holds.
  std::string words = RunShell("printf '%s\\0' " + trimmed.substr(5), env);
  std::vector<std::string> argv;
  for (std::size_t begin = 0, end; (end = words.find('\0', begin)) != std::string::npos;
       begin = end + 1) {
    argv.push_back(words.substr(begin, end - begin));
  }
  return argv;
}

}  // namespace arbor::testing
