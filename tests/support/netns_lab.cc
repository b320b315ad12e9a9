#include "netns_lab.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "processes.h"

extern char** environ;

namespace arbor::testing {
namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr char kSshd[] = "/usr/sbin/sshd";  // sshd re-executes itself: it needs the full path
constexpr char kNetnsPrefix[] = "arblab-";  // arblab-<pid>-h<N>; also the temp dir's prefix
constexpr char kBridgePrefix[] = "arbr";    // arbr<pid>: at most 11 of IFNAMSIZ's 15
constexpr char kVethPrefix[] = "arbv";      // arbv<pid>h<N>: at most 14 with N < 100
constexpr auto kSshReady = 5s;              // from sshd start to a working `ssh true`

std::atomic<bool> lab_exists{false};  // the names carry only the pid: one lab at a time

// A started command whose output (stdout and stderr together) arrives on `out`.
struct Running {
  pid_t pid = -1;
  int out = -1;
};

std::string Join(const std::vector<std::string>& argv) {
  std::string all;
  for (const auto& a : argv) all += (all.empty() ? "" : " ") + a;
  return all;
}

void Append(std::vector<std::string>* argv, std::initializer_list<std::string> more) {
  argv->insert(argv->end(), more.begin(), more.end());
}

// argv[0] searched in PATH and then in the sbin directories, which a non-login PATH can lack.
std::string Which(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* env = getenv("PATH");
  std::istringstream dirs(std::string(env ? env : "") +
                          ":/usr/local/sbin:/usr/sbin:/sbin:/usr/bin:/bin");
  for (std::string d; std::getline(dirs, d, ':');) {
    if (!d.empty() && access((d + "/" + name).c_str(), X_OK) == 0) return d + "/" + name;
  }
  return "";
}

// Starts argv with stdin from /dev/null and stdout+stderr on `out`, in its own process group (so
// that a timeout kills everything it started) and with default signal handling: the test main
// blocks SIGCHLD, and a child would inherit that mask (sshd, for one, reaps its sessions on it).
pid_t Spawn(const std::vector<std::string>& argv, int out, std::string* error) {
  std::string path = Which(argv.at(0));
  if (path.empty()) {
    *error = argv[0] + ": not found";
    return -1;
  }
  std::vector<std::string> args = argv;
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
  posix_spawn_file_actions_adddup2(&fa, out, 1);
  posix_spawn_file_actions_adddup2(&fa, out, 2);
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  sigset_t none, all;
  sigemptyset(&none);
  sigfillset(&all);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &all);
  posix_spawnattr_setpgroup(&attr, 0);
  posix_spawnattr_setflags(&attr,
                           POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETPGROUP);
  pid_t pid = -1;
  int rv = posix_spawn(&pid, path.c_str(), &fa, &attr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  if (rv != 0) *error = argv[0] + ": " + strerror(rv);
  return rv == 0 ? pid : -1;
}

Running Start(const std::vector<std::string>& argv, std::string* error) {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) {
    *error = std::string("pipe: ") + strerror(errno);
    return {};
  }
  pid_t pid = Spawn(argv, fds[1], error);
  close(fds[1]);
  if (pid < 0) {
    close(fds[0]);
    return {};
  }
  return {pid, fds[0]};
}

// Appends what `fd` has within `wait`; false at end of file or on an error.
bool ReadSome(int fd, std::chrono::milliseconds wait, std::string* out) {
  pollfd p{fd, POLLIN, 0};
  int ready = poll(&p, 1, static_cast<int>(wait.count()));
  if (ready < 0) return errno == EINTR;
  if (ready == 0) return true;
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof buf);
  if (n > 0) out->append(buf, static_cast<std::size_t>(n));
  return n > 0 || (n < 0 && errno == EINTR);
}

// Waits for `r` to exit, collecting its output. Stops reading once it exited and the pipe is
// quiet: a background process it left behind may hold the pipe open for good.
CommandResult Finish(Running r, Clock::time_point deadline) {
  CommandResult result;
  int status = -1;  // not an exit: stays so if someone else reaped it (ECHILD)
  bool open = true;
  for (;;) {
    if (open) {
      open = ReadSome(r.out, 10ms, &result.output);
    } else {
      std::this_thread::sleep_for(5ms);
    }
    pid_t reaped = waitpid(r.pid, &status, WNOHANG);
    if (reaped == r.pid || (reaped < 0 && errno == ECHILD)) break;
    if (Clock::now() >= deadline) {
      kill(-r.pid, SIGKILL);
      kill(r.pid, SIGKILL);
      waitpid(r.pid, &status, 0);
      result.timed_out = true;
      break;
    }
  }
  auto drain_until = Clock::now() + 200ms;
  while (open && Clock::now() < drain_until) {
    std::size_t before = result.output.size();
    open = ReadSome(r.out, 0ms, &result.output) && result.output.size() > before;
  }
  close(r.out);
  if (!result.timed_out && WIFEXITED(status)) result.exit_code = WEXITSTATUS(status);
  return result;
}

// Runs argv and returns its output; throws with the command and its output unless it exits 0.
std::string Must(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = 10s) {
  CommandResult r = RunCommand(argv, timeout);
  if (r.exit_code == 0) return r.output;
  std::string how = r.timed_out ? "timed out after " + std::to_string(timeout.count()) + " ms"
                                : "exited with " + std::to_string(r.exit_code);
  throw std::runtime_error("NetnsLab: `" + Join(argv) + "` " + how + ": " + r.output);
}

void WriteFile(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  if (!out.flush()) throw std::runtime_error("NetnsLab: cannot write " + path);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// The first whitespace-separated word of every line.
std::vector<std::string> FirstWords(const std::string& text) {
  std::vector<std::string> words;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream fields(line);
    if (std::string w; fields >> w) words.push_back(w);
  }
  return words;
}

std::vector<pid_t> NetnsPids(const std::string& netns) {
  std::vector<pid_t> pids;
  CommandResult r = RunCommand({"ip", "netns", "pids", netns}, 5s);
  if (r.exit_code != 0) return pids;
  for (const auto& w : FirstWords(r.output)) pids.push_back(static_cast<pid_t>(std::stol(w)));
  return pids;
}

// SIGKILLs everything in the namespace until nothing is left (a process may fork meanwhile),
// then deletes the name; `ip netns del` alone would leave the processes running.
void KillNamespace(const std::string& netns) {
  for (int round = 0; round < 20; ++round) {
    std::vector<pid_t> pids = NetnsPids(netns);
    if (pids.empty()) break;
    for (pid_t p : pids) kill(p, SIGKILL);
    // Alive() also reaps those reparented to us (the test main is a subreaper).
    WaitFor([&] { return std::none_of(pids.begin(), pids.end(), Alive); }, 1s);
  }
  RunCommand({"ip", "netns", "del", netns}, 5s);
}

// The pid in a lab name ("<prefix><pid><rest>") whose rest starts with `separator`, or -1
// when the name is not a lab's.
pid_t PidInName(const std::string& name, const std::string& prefix, char separator) {
  if (name.rfind(prefix, 0) != 0) return -1;
  std::size_t end = name.find_first_not_of("0123456789", prefix.size());
  if (end == prefix.size()) return -1;
  if (end != std::string::npos && name[end] != separator) return -1;
  std::string digits = name.substr(prefix.size(), end - prefix.size());
  return digits.size() > 9 ? -1 : static_cast<pid_t>(std::stol(digits));
}

// A lab name is stale when its process is gone. Our own pid's names are stale too: only one lab
// of ours exists at a time, and it is being built now.
bool Stale(pid_t pid) {
  return pid > 0 && (pid == getpid() || !Alive(pid));
}

// Removes what labs of dead test processes left behind (one killed by a ctest timeout never
// ran its destructor): the processes in their namespaces, the namespaces, links and temp dirs.
void RemoveStaleLabs() {
  for (const auto& ns : FirstWords(Must({"ip", "netns", "list"}))) {
    if (Stale(PidInName(ns, kNetnsPrefix, '-'))) KillNamespace(ns);
  }
  for (auto link : FirstWords(Must({"ip", "-br", "link", "show"}))) {
    link = link.substr(0, link.find('@'));  // a veth shows as "arbv12h1@if3"
    if (Stale(PidInName(link, kBridgePrefix, '\0')) || Stale(PidInName(link, kVethPrefix, 'h'))) {
      RunCommand({"ip", "link", "del", link}, 5s);
    }
  }
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/tmp", ec)) {
    if (Stale(PidInName(entry.path().filename(), kNetnsPrefix, '-'))) fs::remove_all(entry, ec);
  }
}

// True when `text` mentions an address in 10.213.<x>.0/24 (as a whole dotted quad).
bool MentionsSubnet(const std::string& text, int x) {
  std::string needle = "10.213." + std::to_string(x) + ".";
  for (auto at = text.find(needle); at != std::string::npos; at = text.find(needle, at + 1)) {
    if (at == 0 || (!isdigit(text[at - 1]) && text[at - 1] != '.')) return true;
  }
  return false;
}

// X of 10.213.<X>.0/24, from our pid, moved on while the root namespace already has an address
// or a route there (another lab, or a network of the machine's own).
int FreeSubnet() {
  std::string used = Must({"ip", "-o", "-4", "addr", "show"}) + Must({"ip", "-4", "route", "show"});
  int first = getpid() % 250;
  for (int i = 0; i < 250; ++i) {
    int x = (first + i) % 250 + 1;
    if (!MentionsSubnet(used, x)) return x;
  }
  throw std::runtime_error("NetnsLab: every 10.213.<X>.0/24 is in use");
}

// Fixed MAC addresses, locally administered: 02:ab:<X>:00:00:<host> (the root's host is 254).
std::string Mac(int subnet, int host) {
  char mac[18];
  snprintf(mac, sizeof mac, "02:ab:%02x:00:00:%02x", subnet & 0xff, host & 0xff);
  return mac;
}

std::string MakeTempDir() {
  std::string path = "/tmp/" + std::string(kNetnsPrefix) + std::to_string(getpid()) + "-XXXXXX";
  if (!mkdtemp(path.data())) {
    throw std::runtime_error("NetnsLab: mkdtemp " + path + ": " + strerror(errno));
  }
  return path;
}

// The certificate extensions for every name: a CA, and leaves for both ends of a TLS
// connection. mbed TLS 2.28 matches only DNS subjectAltNames, so addresses appear as DNS names.
std::string OpensslConfig(const std::vector<std::pair<std::string, std::string>>& leaves) {
  std::string text =
      "[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = unused\n"
      "[ca]\nbasicConstraints = critical,CA:TRUE\nkeyUsage = critical,keyCertSign,cRLSign\n"
      "subjectKeyIdentifier = hash\n";
  for (const auto& [name, sans] : leaves) {
    text += "[leaf_" + name + "]\nbasicConstraints = critical,CA:FALSE\n" +
            "keyUsage = critical,digitalSignature\nextendedKeyUsage = serverAuth,clientAuth\n" +
            "subjectKeyIdentifier = hash\nauthorityKeyIdentifier = keyid\n" +
            "subjectAltName = " + sans + "\n";
  }
  return text;
}

// One sshd per host, reachable only on the host's own address. No SetEnv or AcceptEnv: a
// session's environment is what sshd gives every login. MaxStartups/MaxSessions are raised so
// that a test opening many sessions at once is not refused by sshd's defaults (10 and 10).
std::string SshdConfig(const std::string& address, const std::string& dir,
                       const std::string& authorized_keys) {
  return "ListenAddress " + address + ":22\n" +  //
         "PidFile " + dir + "/sshd.pid\n" +      //
         "AuthorizedKeysFile " + authorized_keys + "\n" +
         "UsePAM no\n"
         "StrictModes no\n"  // the keys live under /tmp
         "PermitRootLogin prohibit-password\n"
         "PasswordAuthentication no\n"
         "KbdInteractiveAuthentication no\n"
         "ClientAliveInterval 5\n"
         "ClientAliveCountMax 6\n"
         "MaxStartups 100\n"
         "MaxSessions 100\n"
         "PrintMotd no\n";
}

}  // namespace

CommandResult RunCommand(const std::vector<std::string>& argv, std::chrono::milliseconds timeout) {
  std::string error;
  Running r = Start(argv, &error);
  if (r.pid < 0) return {-1, false, error};
  return Finish(r, Clock::now() + timeout);
}

std::string NetnsLab::Unavailable() {
  if (geteuid() != 0) return "NetnsLab needs root (network namespaces, and ssh logins as root)";
  for (const char* tool : {"ip", "ssh", "ssh-keygen", "openssl"}) {
    if (Which(tool).empty()) return std::string("NetnsLab needs `") + tool + "` (tools/dev.sh)";
  }
  if (access(kSshd, X_OK) != 0) {
    return "NetnsLab needs /usr/sbin/sshd (openssh-server, tools/dev.sh)";
  }
  // Creating a namespace needs CAP_SYS_ADMIN, a veth CAP_NET_ADMIN: try both, in a namespace of
  // our own so that nothing of the machine's is touched.
  std::string probe = kNetnsPrefix + std::to_string(getpid()) + "-probe";
  CommandResult add = RunCommand({"ip", "netns", "add", probe}, 5s);
  if (add.exit_code != 0) {
    return "`ip netns add` fails here: " + add.output.substr(0, add.output.find('\n'));
  }
  CommandResult veth = RunCommand(
      {"ip", "-n", probe, "link", "add", "arbp0", "type", "veth", "peer", "name", "arbp1"}, 5s);
  RunCommand({"ip", "netns", "del", probe}, 5s);
  if (veth.exit_code != 0) {
    return "cannot create a veth pair here: " + veth.output.substr(0, veth.output.find('\n'));
  }
  return "";
}

NetnsLab::NetnsLab(int hosts) {
  if (hosts < 1 || hosts > 99) throw std::runtime_error("NetnsLab: 1 to 99 hosts");
  if (lab_exists.exchange(true)) {
    throw std::runtime_error("NetnsLab: one lab per process at a time");
  }
  try {
    Build(hosts);
  } catch (...) {
    Teardown();
    lab_exists = false;
    throw;
  }
}

NetnsLab::~NetnsLab() {
  Teardown();
  lab_exists = false;
}

// The names come first: Teardown() goes by them, whatever step failed.
void NetnsLab::Build(int count) {
  RemoveStaleLabs();
  std::string pid = std::to_string(getpid());
  subnet_ = FreeSubnet();
  prefix_ = "10.213." + std::to_string(subnet_) + ".";
  bridge_ = kBridgePrefix + pid;
  for (int i = 1; i <= count; ++i) {
    std::string n = std::to_string(i);
    hosts_.push_back(
        {"h" + n, kNetnsPrefix + pid + "-h" + n, prefix_ + n, kVethPrefix + pid + "h" + n});
  }
  sshds_.assign(hosts_.size(), -1);
  dir_ = MakeTempDir();
  MakeSshKeys();
  MakeCertificates();
  MakeNetwork();
  AddNeighbours();
  StartSshds();
  WaitForSsh();
  // The sessions of those checks end a little after ssh exits: a lab starts with only sshd.
  for (const auto& h : hosts_) WaitFor([&] { return ForeignPids(h.name).empty(); }, 2s);
}

void NetnsLab::MakeSshKeys() {
  Must({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "arblab", "-f", ssh_identity()});
  fs::copy_file(ssh_identity() + ".pub", dir_ + "/authorized_keys");
  std::string known;
  for (const auto& h : hosts_) {
    fs::create_directory(dir_ + "/" + h.name);
    std::string key = dir_ + "/" + h.name + "/ssh_host_ed25519_key";
    Must({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", h.name, "-f", key});
    known += h.address + " " + ReadFile(key + ".pub");
  }
  WriteFile(known_hosts(), known);
}

void NetnsLab::MakeCertificates() {
  std::vector<std::pair<std::string, std::string>> leaves;
  for (const auto& h : hosts_) leaves.push_back({h.name, "DNS:" + h.address + ",DNS:" + h.name});
  std::string root_sans = "DNS:" + root_address() + ",DNS:localhost,DNS:127.0.0.1";
  leaves.push_back({"root", root_sans});
  leaves.push_back({"rogue", root_sans});
  WriteFile(dir_ + "/openssl.cnf", OpensslConfig(leaves));
  MakeCert("ca", "");
  MakeCert("rogue-ca", "");
  for (const auto& leaf : leaves) MakeCert(leaf.first, leaf.first == "rogue" ? "rogue-ca" : "ca");
}

// A self-signed CA when `ca` is empty, else a leaf signed by `ca`; both EC P-256, each key in
// its own PEM file (PKCS#8, which mbed TLS 2.28 reads). A leaf is checked against its CA.
void NetnsLab::MakeCert(const std::string& name, const std::string& ca) {
  std::string pem = dir_ + "/" + name + ".pem";
  std::vector<std::string> argv = {"openssl", "req", "-x509", "-config", dir_ + "/openssl.cnf"};
  Append(&argv, {"-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"});
  Append(&argv, {"-keyout", dir_ + "/" + name + ".key", "-out", pem, "-days", "30"});
  Append(&argv, {"-subj", "/CN=arblab " + name, "-extensions", ca.empty() ? "ca" : "leaf_" + name});
  if (!ca.empty()) {
    Append(&argv, {"-CA", dir_ + "/" + ca + ".pem", "-CAkey", dir_ + "/" + ca + ".key"});
  }
  Must(argv);
  if (!ca.empty()) Must({"openssl", "verify", "-CAfile", dir_ + "/" + ca + ".pem", pem});
}

// A bridge in the root namespace holding the root's address, and per host a namespace joined to
// it by a veth pair. No default route anywhere: hosts reach only the lab's own subnet.
void NetnsLab::MakeNetwork() {
  Must({"ip", "link", "add", bridge_, "address", Mac(subnet_, 254), "type", "bridge"});
  Must({"ip", "link", "set", bridge_, "up"});
  Must({"ip", "addr", "add", root_address() + "/24", "dev", bridge_});
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const LabHost& h = hosts_[i];
    Must({"ip", "netns", "add", h.netns});
    Must({"ip", "link", "add", h.veth, "type", "veth", "peer", "name", "eth0", "address",
          Mac(subnet_, static_cast<int>(i) + 1), "netns", h.netns});
    Must({"ip", "link", "set", h.veth, "master", bridge_, "up"});
    Must({"ip", "-n", h.netns, "link", "set", "lo", "up"});
    Must({"ip", "-n", h.netns, "addr", "add", h.address + "/24", "dev", "eth0"});
    Must({"ip", "-n", h.netns, "link", "set", "eth0", "up"});
  }
}

// Every address of the lab with a permanent neighbour entry, in the root namespace and in every
// host. Without them a partition is silence only toward peers whose MAC is cached: a new
// connection to or from a cut host fails with EHOSTUNREACH once ARP gives up (about 3 s), and a
// failed entry can refuse connections for a while after the heal.
void NetnsLab::AddNeighbours() {
  auto entry = [&](int host, const std::string& dev) {
    std::string address = prefix_ + std::to_string(host);
    return "neigh replace " + address + " lladdr " + Mac(subnet_, host) + " dev " + dev +
           " nud permanent\n";
  };
  std::string root;
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    root += entry(static_cast<int>(i) + 1, bridge_);
    std::string host = entry(254, "eth0");
    for (std::size_t j = 0; j < hosts_.size(); ++j) {
      if (j != i) host += entry(static_cast<int>(j) + 1, "eth0");
    }
    WriteFile(dir_ + "/" + hosts_[i].name + "/neighbours", host);
    Must({"ip", "-n", hosts_[i].netns, "-batch", dir_ + "/" + hosts_[i].name + "/neighbours"});
  }
  WriteFile(dir_ + "/neighbours", root);
  Must({"ip", "-batch", dir_ + "/neighbours"});
}

// `ip netns exec` execs sshd in place, so the pid we spawn is sshd's. -D keeps it in the
// foreground: it stays our child, and its pid is known without reading the PidFile.
void NetnsLab::StartSshds() {
  fs::create_directories("/run/sshd");  // sshd's privilege separation directory
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    const LabHost& h = hosts_[i];
    std::string hdir = dir_ + "/" + h.name;
    std::string config = hdir + "/sshd_config", key = hdir + "/ssh_host_ed25519_key";
    std::string log = hdir + "/sshd.log";
    WriteFile(config, SshdConfig(h.address, hdir, dir_ + "/authorized_keys"));
    Must({kSshd, "-t", "-f", config, "-h", key});
    int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (fd < 0) throw std::runtime_error("NetnsLab: cannot open " + log);
    std::string error;
    sshds_[i] =
        Spawn({"ip", "netns", "exec", h.netns, kSshd, "-D", "-f", config, "-h", key, "-E", log}, fd,
              &error);
    close(fd);
    if (sshds_[i] < 0) throw std::runtime_error("NetnsLab: cannot start sshd: " + error);
  }
}

// From sshd start to a working `ssh true` into every host, kSshReady at most.
void NetnsLab::WaitForSsh() {
  auto deadline = Clock::now() + kSshReady;
  WaitForListeners(deadline);
  std::vector<std::size_t> waiting(hosts_.size());
  for (std::size_t i = 0; i < waiting.size(); ++i) waiting[i] = i;
  std::string why;
  while (!waiting.empty() && Clock::now() < deadline) {
    waiting = TrySsh(waiting, deadline, &why);
    if (!waiting.empty()) std::this_thread::sleep_for(20ms);
  }
  if (!waiting.empty()) {
    throw std::runtime_error("NetnsLab: no ssh into the lab within " +
                             std::to_string(kSshReady.count()) + " s: " + why);
  }
}

// sshd writes its PidFile once it listens; until then an ssh would only be refused.
void NetnsLab::WaitForListeners(Clock::time_point deadline) {
  for (std::size_t i = 0; i < hosts_.size(); ++i) {
    std::string pidfile = dir_ + "/" + hosts_[i].name + "/sshd.pid";
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    WaitFor([&] { return fs::exists(pidfile) || !Alive(sshds_[i]); }, left);
    if (!fs::exists(pidfile) || !Alive(sshds_[i])) {
      throw std::runtime_error("NetnsLab: sshd of " + hosts_[i].name + " did not start: " +
                               ReadFile(dir_ + "/" + hosts_[i].name + "/sshd.log"));
    }
  }
}

// One `ssh true` into each of `hosts` (indexes), all at once: a login costs about 0.3 s of
// CPU. Returns those that failed; `why` gets the last failure.
std::vector<std::size_t> NetnsLab::TrySsh(const std::vector<std::size_t>& hosts,
                                          Clock::time_point deadline, std::string* why) {
  std::vector<Running> tries;
  for (std::size_t i : hosts) {
    std::vector<std::string> argv = SshArgv(hosts_[i].name);
    argv.insert(argv.end() - 1, {"-o", "ConnectTimeout=2"});
    argv.push_back("true");
    tries.push_back(Start(argv, why));
  }
  std::vector<std::size_t> failed;
  for (std::size_t t = 0; t < tries.size(); ++t) {
    if (tries[t].pid >= 0) {
      CommandResult r = Finish(tries[t], deadline);
      if (r.exit_code == 0) continue;
      *why = hosts_[hosts[t]].name + ": " + r.output;
    }
    failed.push_back(hosts[t]);
  }
  return failed;
}

// Never throws; every step tolerates what an earlier failure left out.
void NetnsLab::Teardown() noexcept {
  try {
    for (pid_t p : sshds_) {
      if (p > 0) kill(p, SIGKILL);
    }
    for (pid_t p : sshds_) {
      if (p > 0) WaitFor([p] { return !Alive(p); }, 2s);
    }
    for (const auto& h : hosts_) KillNamespace(h.netns);
    for (const auto& h : hosts_) RunCommand({"ip", "link", "del", h.veth}, 5s);  // if still there
    if (!bridge_.empty()) RunCommand({"ip", "link", "del", bridge_}, 5s);
    std::error_code ec;
    if (!dir_.empty()) fs::remove_all(dir_, ec);
  } catch (...) {
  }
}

const LabHost& NetnsLab::host(const std::string& name) const {
  for (const auto& h : hosts_) {
    if (h.name == name) return h;
  }
  throw std::out_of_range("NetnsLab: no host " + name);
}

// -F /dev/null: neither the user's nor the system's ssh_config applies.
std::vector<std::string> NetnsLab::SshArgv(const std::string& host_name) const {
  std::vector<std::string> argv = {"ssh", "-F", "/dev/null", "-i", ssh_identity()};
  std::vector<std::string> options = {"BatchMode=yes", "UserKnownHostsFile=" + known_hosts(),
                                      "GlobalKnownHostsFile=/dev/null", "StrictHostKeyChecking=yes",
                                      "IdentitiesOnly=yes"};
  for (const auto& option : options) Append(&argv, {"-o", option});
  argv.push_back("root@" + host(host_name).address);
  return argv;
}

std::string NetnsLab::cert(const std::string& host_name) const {
  if (host_name != "root") host(host_name);  // throws for an unknown name
  return dir_ + "/" + host_name + ".pem";
}

std::string NetnsLab::key(const std::string& host_name) const {
  if (host_name != "root") host(host_name);
  return dir_ + "/" + host_name + ".key";
}

void NetnsLab::Partition(const std::string& host_name, bool cut) {
  Must({"ip", "link", "set", host(host_name).veth, cut ? "down" : "up"});
}

std::string NetnsLab::Exec(const std::string& host_name, const std::string& cmd) const {
  CommandResult r =
      RunCommand({"ip", "netns", "exec", host(host_name).netns, "sh", "-c", cmd}, 10s);
  return r.timed_out ? r.output + "<timed out>" : r.output;
}

std::vector<pid_t> NetnsLab::ForeignPids(const std::string& host_name) const {
  std::vector<pid_t> pids = NetnsPids(host(host_name).netns);
  pid_t sshd = sshd_pid(host_name);
  pids.erase(std::remove(pids.begin(), pids.end(), sshd), pids.end());
  return pids;
}

pid_t NetnsLab::sshd_pid(const std::string& host_name) const {
  const LabHost& h = host(host_name);
  return sshds_.at(static_cast<std::size_t>(&h - hosts_.data()));
}

}  // namespace arbor::testing
