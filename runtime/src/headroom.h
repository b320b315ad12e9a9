// Headroom: how close this process and its host are to the limits that stop a node from
// starting (tasks, descriptors), as `info <id> --limits` reports them.
//
// At the kernel's pid_max (32768 by default) a host holds about 2,000 nodes of 15 threads
// each; a pids cgroup or RLIMIT_NOFILE can stop them far sooner. Everything is read from /proc
// and /sys at the moment of the call; a value that cannot be read is left out.
// Thread-safety: a pure function of the system's state.
#pragma once

#include <string>

namespace arbor {

// "threads=15 fds=21/1024 host_tasks=812 pid_max=32768 free_pids=31956", and
// " cgroup_pids=95/120" when this process is in a pids cgroup with a limit.
std::string HeadroomText();

}  // namespace arbor
