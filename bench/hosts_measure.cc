#include "hosts_measure.h"

#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <fmt/format.h>

#include "arbor_measure.h"
#include "deployment.h"
#include "netns_lab.h"

namespace arbor::bench {
namespace {

using testing::NetnsLab;
namespace fs = std::filesystem;

constexpr int kHosts = 3;          // and the depth: node i of the chain runs on host h<i>
constexpr int kPortBase = 20000;   // + 1000 per deployment of the run, so none reuses a port

struct Host {
  std::string name, netns;
};

sigset_t StopSignals() {
  sigset_t set;
  sigemptyset(&set);
  for (int s : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&set, s);
  return set;
}

// The lab, guarded against the stop-signal watcher. Never destroyed: the watcher may still run
// while the process exits.
std::mutex& LabMutex() {
  static auto* mu = new std::mutex;
  return *mu;
}
std::unique_ptr<NetnsLab>& Lab() {
  static auto* lab = new std::unique_ptr<NetnsLab>;
  return *lab;
}

// The same network namespace: the same nsfs device and inode (what `ip netns identify` checks).
// No child process: a deployment's supervisor reaps every child of this process (waitpid(-1)),
// which would steal the exit status of a command run meanwhile.
bool InNetns(pid_t pid, const std::string& netns) {
  struct stat a {}, b {};
  return stat(fmt::format("/proc/{}/ns/net", pid).c_str(), &a) == 0 &&
         stat(("/run/netns/" + netns).c_str(), &b) == 0 && a.st_dev == b.st_dev &&
         a.st_ino == b.st_ino;
}

std::string Comm(pid_t pid) {
  std::ifstream in(fmt::format("/proc/{}/comm", pid));
  std::string name;
  std::getline(in, name);
  return name;
}

// SIGKILLs whatever runs in the lab's namespaces, found through /proc. The lab's teardown does
// this with `ip netns pids`, whose result a live deployment's supervisor can reap away.
void KillLabProcesses(const std::vector<Host>& hosts) {
  for (int round = 0; round < 10; ++round) {
    int killed = 0;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator("/proc", ec)) {
      std::string name = e.path().filename();
      if (name.find_first_not_of("0123456789") != std::string::npos) continue;
      pid_t pid = static_cast<pid_t>(std::stol(name));
      for (const Host& h : hosts) {
        if (InNetns(pid, h.netns) && kill(pid, SIGKILL) == 0) ++killed;
      }
    }
    if (killed == 0) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

std::vector<Host> LabHosts() {  // LabMutex() held
  std::vector<Host> hosts;
  if (Lab()) {
    for (const auto& h : Lab()->hosts()) hosts.push_back({h.name, h.netns});
  }
  return hosts;
}

// On SIGINT, SIGTERM or SIGHUP: removes the lab and exits. It keeps the lab's mutex to the end,
// so the main thread never sees the lab again.
void WatchStopSignals() {
  std::thread([] {
    sigset_t set = StopSignals();
    int sig = 0;
    if (sigwait(&set, &sig) != 0) return;
    LabMutex().lock();
    if (Lab()) {
      fmt::print(stderr, "arbor-bench hosts: {}: removing the lab\n", strsignal(sig));
      KillLabProcesses(LabHosts());
      Lab().reset();
    }
    _exit(128 + sig);
  }).detach();
}

std::string NodeBinary() {
  return (fs::read_symlink("/proc/self/exe").parent_path() / "arbor-node").string();
}

// The deployment, as tests/integration/hosts_test.cc writes it: every host launched over ssh
// with the lab's identity and known_hosts, round-robin placement (nodes 1, 2, 3, created in
// that order, land on h1, h2, h3). "tcp": plain tcp, insecure: true, no TLS material; "tls":
// tls+tcp, the controller with the lab's root certificate, each host with its own.
std::string HostsYaml(const NetnsLab& lab, const std::string& transport, int port_base) {
  const bool tls = transport == "tls";
  std::string y = fmt::format("transport:\n  endpoint: \"{}://{{address}}:{{port}}\"\n"
                              "  port_base: {}\n",
                              tls ? "tls+tcp" : "tcp", port_base);
  y += tls ? fmt::format("  tls: {{ca: {}, cert: {}, key: {}}}\n", lab.ca_cert(),
                         lab.cert("root"), lab.key("root"))
           : "  insecure: true\n";
  y += "timeouts:\n  start_ms: 15000\n";  // three ssh logins on a busy machine
  y += "placement: round-robin\nhosts:\n";
  for (const auto& h : lab.hosts()) {
    y += fmt::format("  - name: {}\n    address: {}\n    launch: ssh\n"
                     "    ssh: {{user: root, identity: {}, known_hosts: {}}}\n"
                     "    arbor_node: {}\n",
                     h.name, h.address, lab.ssh_identity(), lab.known_hosts(), NodeBinary());
    if (tls) y += fmt::format("    tls: {{cert: {}, key: {}}}\n", lab.cert(h.name), lab.key(h.name));
  }
  return y;
}

// Node i of the chain must run on host h<i>: the tree says so (its sweep asks each node), and
// its process is an arbor-node in that host's namespace.
void CheckPlacement(controller::Deployment& d, const std::vector<Host>& hosts) {
  std::vector<std::string> tree = d.Tree();
  for (int id = 1; id <= kHosts; ++id) {
    const Host& h = hosts.at(static_cast<std::size_t>(id - 1));
    pid_t pid = d.PidOf(id).value_or(-1);
    std::string want = fmt::format("{:{}}{} up pid={} restarts=0 host={}", "", 2 * (id - 1), id,
                                   pid, h.name);
    std::string got = static_cast<int>(tree.size()) >= id ? tree[id - 1] : "(none)";
    if (got != want) {
      throw std::runtime_error(
          fmt::format("node {}: the tree says '{}', expected '{}'", id, got, want));
    }
    if (!InNetns(pid, h.netns) || Comm(pid) != "arbor-node") {
      throw std::runtime_error(fmt::format("node {}: pid {} ({}) is not an arbor-node in {}", id,
                                           pid, Comm(pid), h.netns));
    }
  }
}

}  // namespace

std::string HostsUnavailable() { return NetnsLab::Unavailable(); }

int MeasureHosts(const std::vector<std::string>& transports, int inflight, int count,
                 bool coalesce) {
  sigset_t stop = StopSignals();
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  WatchStopSignals();
  if (std::string why = HostsUnavailable(); !why.empty()) {
    fmt::print(stderr, "arbor-bench hosts: {}\n", why);
    return 3;
  }
  int rc = 0;
  try {
    std::vector<Host> hosts;
    std::map<std::string, std::string> yaml;  // transport -> deployment file
    {
      std::lock_guard lock(LabMutex());
      Lab() = std::make_unique<NetnsLab>(kHosts);
      hosts = LabHosts();
      int port_base = kPortBase;
      for (const auto& t : transports) {
        if (t == "abstract" || yaml.count(t)) continue;
        std::string path = fmt::format("{}/bench-{}.yaml", Lab()->dir(), t);
        std::ofstream(path) << HostsYaml(*Lab(), t, port_base);
        port_base += 1000;
        yaml[t] = path;
      }
    }
    for (const auto& t : transports) {
      ChainSetup setup;
      if (t != "abstract") {
        Result<Config> c = LoadConfigFile(yaml.at(t));
        if (!c.ok()) throw std::runtime_error(c.status().ToString());
        setup.config = std::move(c).value();
        setup.check = [&hosts](controller::Deployment& d) { CheckPlacement(d, hosts); };
      }
      Figures f = MeasureRoundTrip(kHosts, Op::kGet, inflight, count, coalesce, setup);
      Emit(coalesce ? "hosts" : "hosts_raw",
           {{"transport", fmt::format("\"{}\"", t)},
            {"depth", std::to_string(kHosts)},
            {"op", "\"get\""},
            {"inflight", std::to_string(inflight)},
            {"hosts", t == "abstract" ? "1" : std::to_string(kHosts)}},
           f);
    }
  } catch (const std::exception& e) {
    fmt::print(stderr, "arbor-bench hosts: {}\n", e.what());
    rc = 1;
  }
  std::lock_guard lock(LabMutex());
  Lab().reset();
  return rc;
}

}  // namespace arbor::bench
