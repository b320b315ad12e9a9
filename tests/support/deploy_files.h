// Readers for the deployment files in deploy/ (the systemd unit, the Kubernetes manifests), so
// that tests check the command lines those files really run instead of copies of them. Each
// reader throws std::runtime_error, naming the file, when the file is not what it expects.
#pragma once

#include <map>
#include <string>
#include <utility>
#include <vector>

namespace arbor::testing {

// A systemd unit file: each section's assignments, in file order.
struct UnitFile {
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> sections;

  // Every value assigned to `key` in `section`, in order; empty when there is none.
  std::vector<std::string> Values(const std::string& section, const std::string& key) const;
};

// Parses the unit file syntax: [Section] headers, Key=Value lines, # and ; comments, and lines
// continued with a trailing backslash.
UnitFile ReadUnitFile(const std::string& path);

// The one ExecStart= of the unit's [Service] section (an empty ExecStart= resets the list, as in
// systemd). Throws if there is none or more than one.
std::string SystemdExecStart(const std::string& unit_path);

// The argv systemd runs for instance `id`: %i replaced by the id, %% by %, split at whitespace.
// Throws on what this simple reading would get wrong: quotes, backslashes, $ variables, exec
// prefixes (-@:+!) and any other % specifier.
std::vector<std::string> InstanceCommand(const std::string& exec_start, long long id);

// The command array of the container of the StatefulSet in `statefulset_path` (one document,
// one container). Throws if the file holds no such command.
std::vector<std::string> K8sContainerCommand(const std::string& statefulset_path);

// The argv that `/bin/sh -c script` executes when `script` is one `exec <words>` command, as the
// real /bin/sh expands the words under `env` (which is the whole environment). Throws if the
// script is anything else (several commands, pipes, substitutions).
std::vector<std::string> ExecScriptArgv(const std::string& script,
                                        const std::map<std::string, std::string>& env);

}  // namespace arbor::testing
