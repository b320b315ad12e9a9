// arbor across hosts, on a lab of network namespaces (netns_lab.h): real sshd, real OpenSSH
// client, real certificates, nodes that listen on their host's own address. Every test builds
// its own lab and the lab removes everything it made, even when the test fails. Traffic goes
// only to the lab's addresses and to loopback.
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <thread>

#include <fmt/format.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "deploy_files.h"
#include "netns_lab.h"
#include "processes.h"
#include "tree_helpers.h"

extern char** environ;

using namespace arbor::testing;

namespace {

constexpr int kPortBase = 20000;

struct HostsOptions {
  std::string scheme = "tls+tcp";
  std::string extra;  // appended at the top level (placement, nodes, restart...)
  int request_ms = 1500;
  int start_ms = 8000;
  // host name -> launch mode; ssh for the others
  std::map<std::string, std::string> launch;
  // host name -> {cert, key} instead of the lab's own
  std::map<std::string, std::pair<std::string, std::string>> tls;
};

std::string HostsYaml(const NetnsLab& lab, const HostsOptions& o) {
  std::string y = fmt::format(
      "transport:\n  endpoint: \"{}://{{address}}:{{port}}\"\n  port_base: {}\n{}"
      "  tls: {{ca: {}, cert: {}, key: {}}}\n",
      o.scheme, kPortBase, o.scheme == "tcp" ? "  insecure: true\n" : "", lab.ca_cert(),
      lab.cert("root"), lab.key("root"));
  y += fmt::format("timeouts:\n  request_ms: {}\n  orphan_grace_ms: 2000\n  start_ms: {}\n",
                   o.request_ms, o.start_ms);
  y += "hosts:\n";
  for (const LabHost& h : lab.hosts()) {
    auto launch = o.launch.count(h.name) ? o.launch.at(h.name) : "ssh";
    auto [cert, key] = o.tls.count(h.name) ? o.tls.at(h.name)
                                           : std::pair{lab.cert(h.name), lab.key(h.name)};
    y += fmt::format("  - name: {}\n    address: {}\n    launch: {}\n", h.name, h.address, launch);
    if (launch == "ssh") {
      y += fmt::format("    ssh: {{user: root, identity: {}, known_hosts: {}}}\n"
                       "    arbor_node: {}/arbor-node\n",
                       lab.ssh_identity(), lab.known_hosts(), BinDir());
    }
    y += fmt::format("    tls: {{cert: {}, key: {}}}\n", cert, key);
  }
  return y + o.extra;
}

std::string WriteYaml(const NetnsLab& lab, const std::string& name, const std::string& text) {
  std::string path = lab.dir() + "/" + name;
  std::ofstream(path) << text;
  return path;
}

// The pids of arbor-node processes running in the host's namespace.
std::vector<pid_t> NodesOn(const NetnsLab& lab, const std::string& host) {
  std::vector<pid_t> out;
  for (pid_t p : lab.ForeignPids(host)) {
    std::ifstream comm("/proc/" + std::to_string(p) + "/comm");
    std::string name;
    if (std::getline(comm, name) && name == "arbor-node") out.push_back(p);
  }
  return out;
}

std::size_t NodesOnAll(const NetnsLab& lab) {
  std::size_t n = 0;
  for (const LabHost& h : lab.hosts()) n += NodesOn(lab, h.name).size();
  return n;
}

// The controller's arguments for the deployment `o` describes on `lab`.
std::vector<std::string> Args(const NetnsLab& lab, const HostsOptions& o) {
  return {"--config", WriteYaml(lab, "d.yaml", HostsYaml(lab, o))};
}

bool RunsOn(const NetnsLab& lab, const std::string& host, pid_t pid) {
  auto pids = NodesOn(lab, host);
  return std::find(pids.begin(), pids.end(), pid) != pids.end();
}

std::vector<std::string> TreeLines(ControllerProcess& c, int n) {
  c.Send("tree");
  std::vector<std::string> lines;
  for (int i = 0; i < n; ++i) lines.push_back(c.NextLine());
  return lines;
}

pid_t InfoPid(ControllerProcess& c, long id) {
  std::string line = c.Command("info " + std::to_string(id));
  auto p = line.find("pid=");
  REQUIRE(p != std::string::npos);
  return static_cast<pid_t>(std::stol(line.substr(p + 4)));
}

bool HasLine(const std::vector<std::string>& lines, const std::string& prefix) {
  return std::any_of(lines.begin(), lines.end(),
                     [&](const std::string& l) { return l.rfind(prefix, 0) == 0; });
}

long long MsSince(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               t).count();
}

#define REQUIRE_LAB()                                                         \
  do {                                                                        \
    if (std::string why = NetnsLab::Unavailable(); !why.empty()) SKIP(why);  \
  } while (false)

}  // namespace

TEST_CASE("hosts: the SPEC session over three hosts with tls+tcp, then kill -9 of a remote node") {
  REQUIRE_LAB();
  NetnsLab lab(3);
  HostsOptions o;
  o.extra = "placement: round-robin\n";
  ControllerProcess c(Args(lab, o));
  std::string create10 = c.Command("create 10", 20s);
  std::string create5 = c.Command("create 5", 20s);
  pid_t ten = PidOf(create10), five = PidOf(create5);
  CHECK(c.Command("exec 10 MyVar") == "Ok:10: 'MyVar' not found");
  CHECK(c.Command("exec 10 MyVar 5") == "Ok:10");
  CHECK(c.Command("exec 12 MyVar") == "Error:12: Not found");
  CHECK(c.Command("exec 10 MyVar") == "Ok:10: 5");
  CHECK(c.Command("ping 5") == "Ok: 1");
  CHECK(c.Command("ping 17") == "Error: Not found");

  // Round-robin: 10 on h1, 5 on h2, each a process of its own host's namespace.
  CHECK(RunsOn(lab, "h1", ten));
  CHECK(RunsOn(lab, "h2", five));
  auto tree = TreeLines(c, 2);
  CHECK(tree[0] == fmt::format("10 up pid={} restarts=0 host=h1", ten));
  CHECK(tree[1] == fmt::format("  5 up pid={} restarts=0 host=h2", five));
  CHECK(c.Command("info 5") ==
        fmt::format("Ok:5: pid={} left=- right=- plugins=dictionary,ping host=h2", five));

  REQUIRE(kill(five, SIGKILL) == 0);
  REQUIRE(WaitFor([&] { return !RunsOn(lab, "h2", five); }, 5s));
  CHECK(c.Command("ping 5") == "Ok: 0");
  CHECK(c.Command("exec 5 x") == "Error:5: Node is unavailable");
  CHECK(c.Command("pingall") == "Ok: 5");
  CHECK(c.Command("exec 10 MyVar") == "Ok:10: 5");
}

TEST_CASE("hosts: kill -9 of a remote inner node: ancestors fine, pingall exact, ping fast") {
  REQUIRE_LAB();
  NetnsLab lab(3);
  HostsOptions o;
  o.request_ms = 5000;  // an answer well under this comes from the connection reset
  o.extra = "placement: round-robin\n";
  ControllerProcess c(Args(lab, o));
  std::map<long, pid_t> pids;
  for (long id : {50, 30, 80, 20, 40, 70, 90}) {
    pids[id] = PidOf(c.Command("create " + std::to_string(id), 20s));
  }
  CHECK(c.Command("exec 50 a 1") == "Ok:50");
  CHECK(c.Command("exec 20 b 2") == "Ok:20");
  REQUIRE(kill(pids[30], SIGKILL) == 0);  // 30 is on h2, 20 and 40 below it on h1 and h2
  REQUIRE(WaitFor([&] { return !RunsOn(lab, "h2", pids[30]); }, 5s));

  auto t0 = std::chrono::steady_clock::now();
  CHECK(c.Command("ping 30") == "Ok: 0");
  CHECK(MsSince(t0) < 2500);
  CHECK(c.Command("exec 50 a") == "Ok:50: 1");
  CHECK(c.Command("ping 50") == "Ok: 1");
  for (long id : {80, 70, 90}) CHECK(c.Command("ping " + std::to_string(id)) == "Ok: 1");
  CHECK(c.Command("exec 20 b") == "Error:20: Node is unavailable");
  CHECK(c.Command("pingall") == "Ok: 20;30;40");
  // The cut-off children exit after their grace, not before: they could be taken back.
  CHECK(RunsOn(lab, "h1", pids[20]));
  CHECK(WaitFor([&] { return !RunsOn(lab, "h1", pids[20]); }, 8s));
}

TEST_CASE("hosts: a partitioned host answers unavailable within one deadline and heals by itself") {
  REQUIRE_LAB();
  NetnsLab lab(3);
  HostsOptions o;
  o.request_ms = 1500;
  o.extra = "nodes:\n  - {id: 50, host: h1}\n  - {id: 30, host: h2}\n  - {id: 20, host: h2}\n"
            "  - {id: 80, host: h3}\n";
  ControllerProcess c(Args(lab, o));
  CHECK(c.Command("exec 30 v 7") == "Ok:30");
  CHECK(c.Command("exec 20 w 8") == "Ok:20");
  pid_t thirty = InfoPid(c, 30);
  REQUIRE(RunsOn(lab, "h2", thirty));

  lab.Partition("h2", true);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(c.Command("ping 30") == "Ok: 0");
  CHECK(MsSince(t0) < 1500 + 1000);
  t0 = std::chrono::steady_clock::now();
  CHECK(c.Command("exec 80 x 1") == "Ok:80");  // another host is not slowed
  CHECK(MsSince(t0) < 500);
  CHECK(c.Command("exec 20 w") == "Error:20: Node is unavailable");
  CHECK(c.Command("pingall") == "Ok: 20;30");

  lab.Partition("h2", false);
  // No restart and nothing lost: the same processes answer with the data they had.
  CHECK(WaitFor([&] { return c.Command("ping 30") == "Ok: 1"; }, 10s));
  CHECK(c.Command("exec 30 v") == "Ok:30: 7");
  CHECK(c.Command("exec 20 w") == "Ok:20: 8");
  CHECK(c.Command("pingall") == "Ok: -1");
  auto tree = TreeLines(c, 4);
  CHECK(HasLine(tree, "  30 up pid=" + std::to_string(thirty) + " restarts=0 host=h2"));
}

TEST_CASE("hosts: restart on-failure respawns a remote node on its own host") {
  REQUIRE_LAB();
  NetnsLab lab(3);
  HostsOptions o;
  o.extra = "restart: on-failure\nnodes:\n  - {id: 50, host: h1}\n  - {id: 30, host: h2}\n"
            "  - {id: 20, host: h3}\n";
  ControllerProcess c(Args(lab, o));
  REQUIRE(c.Command("pingall", 20s) == "Ok: -1");
  REQUIRE(NodesOn(lab, "h2").size() == 1);
  pid_t thirty = NodesOn(lab, "h2").front();
  pid_t twenty = NodesOn(lab, "h3").front();
  REQUIRE(kill(thirty, SIGKILL) == 0);
  // Back on h2, in place, answering; its child on h3 was taken back, not restarted.
  REQUIRE(WaitFor([&] { return c.Command("ping 30") == "Ok: 1"; }, 15s));
  REQUIRE(NodesOn(lab, "h2").size() == 1);
  CHECK(NodesOn(lab, "h2").front() != thirty);
  CHECK(WaitFor([&] { return c.Command("pingall") == "Ok: -1"; }, 10s));
  CHECK(NodesOn(lab, "h3") == std::vector<pid_t>{twenty});
  auto tree = TreeLines(c, 3);
  CHECK(HasLine(tree, fmt::format("  30 up pid={} restarts=1 host=h2", NodesOn(lab, "h2").front())));
  CHECK(c.Command("exec 20 k 3") == "Ok:20");
}

// The controller's ssh client for node `id` (its session), or -1.
pid_t SshClientOf(pid_t controller, long id) {
  const std::string want = "--id " + std::to_string(id) + " ";
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    pid_t pid = std::stoi(name);
    if (ParentOf(pid) != controller) continue;
    std::ifstream in(entry.path() / "cmdline");
    std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    std::string plain;
    for (char ch : cmd) {
      if (ch != '\'') plain += ch == '\0' ? ' ' : ch;
    }
    if (plain.rfind("ssh ", 0) == 0 && plain.find(want) != std::string::npos) return pid;
  }
  return -1;
}

TEST_CASE("hosts: a remote node whose session ended in a partition comes back with its host") {
  REQUIRE_LAB();
  NetnsLab lab(3);
  HostsOptions o;
  o.start_ms = 3000;  // each failed start (an ssh that cannot connect) ends sooner
  o.extra = "restart: on-failure\nnodes:\n  - {id: 50, host: h1}\n  - {id: 30, host: h2}\n"
            "  - {id: 20, host: h3}\n";
  ControllerProcess c(Args(lab, o));
  REQUIRE(c.Command("pingall", 20s) == "Ok: -1");
  pid_t ssh = SshClientOf(c.pid(), 30);
  REQUIRE(ssh > 0);
  lab.Partition("h2", true);
  // The session ends while h2 cannot be reached (as it would after ssh's keepalive gives
  // up): every start fails until the host is back, several times over.
  REQUIRE(kill(ssh, SIGKILL) == 0);
  std::this_thread::sleep_for(8s);
  CHECK(c.Command("ping 30") == "Ok: 0");
  lab.Partition("h2", false);
  // Started again once h2 answers (after its old process, whose session is gone, has left).
  CHECK(WaitFor([&] { return c.Command("ping 30") == "Ok: 1"; }, 40s));
  CHECK(NodesOn(lab, "h2").size() == 1);
  CHECK(WaitFor([&] { return c.Command("pingall") == "Ok: -1"; }, 10s));
}

TEST_CASE("hosts: when the controller dies, no remote node outlives it by a second") {
  REQUIRE_LAB();
  NetnsLab lab(3);
  HostsOptions o;
  o.extra = "restart: on-failure\nplacement: round-robin\nnodes: [50, 30, 80, 20, 40, 70]\n";
  ControllerProcess c(Args(lab, o));
  REQUIRE(c.Command("pingall") == "Ok: -1");
  REQUIRE(NodesOnAll(lab) == 6);
  c.Kill(SIGKILL);
  auto t0 = std::chrono::steady_clock::now();
  CHECK(WaitFor([&] { return NodesOnAll(lab) == 0; }, 5s));
  CHECK(MsSince(t0) < 1000);
}

TEST_CASE("hosts: remove works across hosts and leaves no process behind") {
  REQUIRE_LAB();
  NetnsLab lab(3);
  HostsOptions o;
  o.extra = "placement: round-robin\nnodes: [50, 30, 80, 20, 40]\n";
  ControllerProcess c(Args(lab, o));
  REQUIRE(c.Command("pingall") == "Ok: -1");
  CHECK(c.Command("remove 30", 20s) == "Ok");  // 30 and its children 20 and 40
  CHECK(c.Command("ping 20") == "Error: Not found");
  CHECK(c.Command("pingall") == "Ok: -1");
  // The removed nodes' ssh sessions end with them; on a loaded machine sshd takes a while.
  int left = -1;
  bool gone = WaitFor([&] { return (left = NodesOnAll(lab)) == 2; }, 10s);
  INFO("node processes left on the hosts: " << left);
  CHECK(gone);
}

TEST_CASE("hosts: a node listens on its own host's address only") {
  REQUIRE_LAB();
  NetnsLab lab(2);
  HostsOptions o;
  o.extra = "nodes:\n  - {id: 50, host: h1}\n  - {id: 30, host: h2}\n";
  ControllerProcess c(Args(lab, o));
  REQUIRE(c.Command("ping 30") == "Ok: 1");
  std::string listening = lab.Exec("h2", "ss -Hltn");
  INFO(listening);
  CHECK(listening.find(lab.host("h2").address + ":" + std::to_string(kPortBase + 30)) !=
        std::string::npos);
  CHECK(listening.find("0.0.0.0:" + std::to_string(kPortBase + 30)) == std::string::npos);
  CHECK(listening.find("*:" + std::to_string(kPortBase + 30)) == std::string::npos);
  // With the default placement a new node goes on its parent's host: 20 under 30, on h2.
  REQUIRE(c.Command("create 20", 20s).rfind("Ok: ", 0) == 0);
  CHECK_THAT(c.Command("info 20"), Catch::EndsWith("host=h2"));
  CHECK(RunsOn(lab, "h2", InfoPid(c, 20)));
}

namespace {

// One TLS dial to `url` from here with the given files (an empty cert: none presented);
// 0 when the handshake succeeds, else nng's error.
int TlsDial(const std::string& url, const std::string& ca, const std::string& cert,
            const std::string& key, const std::string& server_name) {
  nng_socket s;
  if (nng_req0_open(&s) != 0) return -1;
  nng_dialer d;
  nng_tls_config* cfg = nullptr;
  int rv = nng_dialer_create(&d, s, url.c_str());
  if (rv == 0) rv = nng_tls_config_alloc(&cfg, NNG_TLS_MODE_CLIENT);
  if (rv == 0) rv = nng_tls_config_ca_file(cfg, ca.c_str());
  if (rv == 0) rv = nng_tls_config_server_name(cfg, server_name.c_str());
  if (rv == 0 && !cert.empty()) {
    std::ifstream c(cert), k(key);
    std::string cp((std::istreambuf_iterator<char>(c)), {}), kp((std::istreambuf_iterator<char>(k)), {});
    rv = nng_tls_config_own_cert(cfg, cp.c_str(), kp.c_str(), nullptr);
  }
  if (rv == 0) rv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg);
  if (rv == 0) rv = nng_dialer_start(d, 0);
  // With no certificate of ours the handshake can pass and the server drop us right after:
  // a refused peer never gets a pipe, so give it a moment and look.
  if (rv == 0) {
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    nng_msg* m = nullptr;
    nng_msg_alloc(&m, 0);
    nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 500);
    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 500);
    rv = nng_sendmsg(s, m, 0);
    if (rv != 0) nng_msg_free(m);
    if (rv == 0) {
      nng_msg* reply = nullptr;
      rv = nng_recvmsg(s, &reply, 0);
      if (rv == 0) nng_msg_free(reply);
      if (rv == NNG_ETIMEDOUT) rv = 0;  // connected, and the garbage got no answer
    }
  }
  if (cfg) nng_tls_config_free(cfg);
  nng_close(s);
  return rv;
}

}  // namespace

TEST_CASE("hosts: a peer without the deployment's certificate is refused, and the tree works on") {
  REQUIRE_LAB();
  NetnsLab lab(3);
  HostsOptions o;
  o.tls["h3"] = {lab.rogue_cert(), lab.rogue_key()};  // h3's certificate is from another CA
  o.extra = "placement: h3\nnodes:\n  - {id: 50, host: h1}\n  - {id: 30, host: h2}\n";
  ControllerProcess c(Args(lab, o));
  REQUIRE(c.Command("ping 30") == "Ok: 1");
  const LabHost& h2 = lab.host("h2");
  std::string url = fmt::format("tls+tcp://{}:{}", h2.address, kPortBase + 30);

  // Clients: with the deployment's certificate (accepted), with none, with the rogue one.
  CHECK(TlsDial(url, lab.ca_cert(), lab.cert("root"), lab.key("root"), h2.address) == 0);
  CHECK(TlsDial(url, lab.ca_cert(), "", "", h2.address) != 0);
  CHECK(TlsDial(url, lab.ca_cert(), lab.rogue_cert(), lab.rogue_key(), h2.address) != 0);
  CHECK(c.Command("ping 30") == "Ok: 1");

  // A node on h3 presents the rogue certificate: its parent refuses it, the create says so,
  // and nothing is left on h3.
  std::string line = c.Command("create 40", 20s);
  CHECK_THAT(line, Catch::StartsWith("Error: "));
  CHECK_THAT(line, Catch::Contains("h3"));
  CHECK_THAT(line, Catch::Contains("certificate"));
  CHECK(c.Command("ping 40") == "Error: Not found");
  CHECK(WaitFor([&] { return NodesOn(lab, "h3").empty(); }, 5s));
  CHECK(c.Command("pingall") == "Ok: -1");
  CHECK(c.Command("exec 30 a 1") == "Ok:30");
}

TEST_CASE("hosts: create on a host that cannot be reached names the host and the reason") {
  REQUIRE_LAB();
  NetnsLab lab(2);
  HostsOptions o;
  o.extra = "placement: h2\n";
  ControllerProcess c(Args(lab, o));
  REQUIRE(c.Command("create 50", 20s).rfind("Ok: ", 0) == 0);
  lab.Exec("h2", "kill " + std::to_string(lab.sshd_pid("h2")));  // ssh to h2 is refused now
  std::string line = c.Command("create 30", 20s);
  CHECK_THAT(line, Catch::StartsWith("Error: host h2 (" + lab.host("h2").address + "): ssh: "));
  CHECK_THAT(line, Catch::Contains("Connection refused"));
  CHECK(c.Command("ping 30") == "Error: Not found");
  CHECK(c.Command("ping 50") == "Ok: 1");
}

TEST_CASE("hosts: create on a host cut off from the network ends at start_ms, naming the host") {
  REQUIRE_LAB();
  NetnsLab lab(3);
  HostsOptions o;
  o.start_ms = 2000;
  o.launch["h3"] = "external";
  o.extra = "placement: h3\nnodes:\n  - {id: 50, host: h1}\n";
  ControllerProcess c(Args(lab, o));
  REQUIRE(c.Command("ping 50", 20s) == "Ok: 1");
  lab.Partition("h3", true);  // silence: no reset, no refusal
  auto t0 = std::chrono::steady_clock::now();
  std::string line = c.Command("create 30", 20s);
  CHECK_THAT(line, Catch::StartsWith("Error: host h3 (" + lab.host("h3").address + "): "));
  CHECK_THAT(line, Catch::Contains("no answer within 2000 ms"));
  CHECK(MsSince(t0) < 2000 + 1500);
  CHECK(c.Command("exec 50 a 1") == "Ok:50");
  CHECK(c.Command("ping 30") == "Error: Not found");
  CHECK(c.Command("pingall") == "Ok: -1");
}

namespace {

// Runs the systemd unit's ExecStart line for node `id`, exactly, inside the host's namespace,
// in a private mount namespace where the install paths it names (/usr/local, /etc/arbor) hold
// the build tree and the test's deployment file. Returns the pid of `ip netns exec`.
pid_t StartAsSystemdWould(const NetnsLab& lab, const std::string& host, long id,
                          const std::string& yaml) {
  std::string exec_start = SystemdExecStart(std::string(ARBOR_SOURCE_DIR) +
                                            "/deploy/systemd/arbor-node@.service");
  std::vector<std::string> argv = InstanceCommand(exec_start, id);
  std::string etc = lab.dir() + "/etc-" + std::to_string(id);
  std::string mounts = fmt::format(
      "mkdir -p {0}/up/arbor {0}/work && cp {1} {0}/up/arbor/deployment.yaml && "
      "mount -t overlay overlay -o lowerdir=/etc,upperdir={0}/up,workdir={0}/work /etc && "
      "mount --bind {2} /usr/local/bin && mount --bind {2}/../lib /usr/local/lib && "
      "exec \"$@\"",
      etc, yaml, BinDir());
  std::vector<std::string> args = {"ip", "netns", "exec", lab.host(host).netns, "sh", "-c",
                                   mounts, "sh"};
  args.insert(args.end(), argv.begin(), argv.end());
  std::vector<char*> cargv;
  for (auto& a : args) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  pid_t pid = -1;
  posix_spawnp(&pid, "ip", nullptr, nullptr, cargv.data(), environ);
  return pid;
}

// Waits at most `timeout` for our child `pid` to exit; its status, or nullopt (then killed, so
// that a node that did not stop fails the test instead of hanging it).
std::optional<int> ExitStatus(pid_t pid, std::chrono::milliseconds timeout) {
  int status = -1;
  bool exited = WaitFor([&] { return waitpid(pid, &status, WNOHANG) == pid; }, timeout);
  if (exited) return status;
  kill(pid, SIGKILL);
  waitpid(pid, &status, 0);
  return std::nullopt;
}

}  // namespace

TEST_CASE("hosts: an external node started by the systemd unit's ExecStart line joins the tree") {
  REQUIRE_LAB();
  NetnsLab lab(3);
  HostsOptions o;
  o.launch["h3"] = "external";
  o.extra = "nodes:\n  - {id: 50, host: h1}\n  - {id: 70, host: h3}\n";
  std::string yaml = WriteYaml(lab, "d.yaml", HostsYaml(lab, o));
  pid_t unit = StartAsSystemdWould(lab, "h3", 70, yaml);
  REQUIRE(unit > 0);
  // It listens and waits for a parent (the parent's create dials it).
  REQUIRE(WaitFor([&] { return !NodesOn(lab, "h3").empty(); }, 10s));
  {
    ControllerProcess c({"--config", yaml});
    CHECK(c.Command("exec 70 x 5") == "Ok:70");
    CHECK(c.Command("exec 70 x") == "Ok:70: 5");
    CHECK_THAT(c.Command("info 70"), Catch::EndsWith("host=h3"));
    CHECK(c.Command("pingall") == "Ok: -1");
    c.CloseInput();
    CHECK(c.Wait(10s).has_value());
  }
  // The controller stopped the tree: the external node exited cleanly, for its supervisor to
  // start it again (systemd's Restart=always), empty: its data was in memory.
  std::optional<int> status = ExitStatus(unit, 30s);
  REQUIRE(status.has_value());
  CHECK((WIFEXITED(*status) && WEXITSTATUS(*status) == 0));
  unit = StartAsSystemdWould(lab, "h3", 70, yaml);
  REQUIRE(WaitFor([&] { return !NodesOn(lab, "h3").empty(); }, 10s));

  // A controller whose deployment file differs is refused by the config digest, and the node
  // goes on waiting.
  HostsOptions other = o;
  other.request_ms = 1600;
  ControllerProcess wrong({"--config", WriteYaml(lab, "other.yaml", HostsYaml(lab, other))});
  CHECK(wrong.Wait(30s).has_value());
  CHECK_THAT(wrong.Stderr(), Catch::Contains("different deployment"));

  ControllerProcess again({"--config", yaml});
  CHECK(again.Command("exec 70 x") == "Ok:70: 'x' not found");
  CHECK(again.Command("ping 70") == "Ok: 1");
  again.CloseInput();
  CHECK(again.Wait(10s).has_value());
  CHECK(ExitStatus(unit, 30s).has_value());
}
