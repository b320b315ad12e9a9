// The network-namespace lab itself: hosts that answer ssh, reach each other, can be cut off
// and healed, a TLS deployment that nng accepts and a rogue one it refuses, and a teardown that
// leaves nothing behind, not even stale labs of killed test processes.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <memory>

#include "netns_lab.h"
#include "processes.h"

using namespace arbor::testing;
using namespace std::chrono_literals;

namespace {

// `ssh root@<host> cmd` from the root namespace, as the controller would run it.
CommandResult Ssh(const NetnsLab& lab, const std::string& host, const std::string& cmd,
                  const std::string& connect_timeout = "3") {
  std::vector<std::string> argv = lab.SshArgv(host);
  argv.insert(argv.end() - 1, {"-o", "ConnectTimeout=" + connect_timeout});
  argv.push_back(cmd);
  return RunCommand(argv, 10s);
}

// From inside `from`: "open" when a TCP connection to address:port succeeds within `seconds`,
// "rc=124" when it hears nothing (a partition is silence), another rc when refused.
std::string Probe(const NetnsLab& lab, const std::string& from, const std::string& address,
                  int port = 22, int seconds = 1) {
  std::string out = lab.Exec(
      from, "timeout " + std::to_string(seconds) + " bash -c 'echo >/dev/tcp/" + address + "/" +
                std::to_string(port) + "' 2>/dev/null && echo open" + " || echo rc=$?");
  return out.substr(0, out.find('\n'));
}

std::string Openssl(const std::string& args) {
  return RunCommand({"sh", "-c", "openssl " + args + " 2>&1"}).output;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Every name of this process's labs that `ip` still lists.
std::string LabNamesLeft() {
  std::string pid = std::to_string(getpid());
  std::string left;
  for (auto [list, marker] : {std::pair{"ip netns list", "arblab-" + pid + "-"},
                              std::pair{"ip -br link show", "arbr" + pid},
                              std::pair{"ip -br link show", "arbv" + pid + "h"}}) {
    std::string out = RunCommand({"sh", "-c", list}).output;
    if (out.find(marker) != std::string::npos) left += out;
  }
  return left;
}

using TlsConfig = std::unique_ptr<nng_tls_config, decltype(&nng_tls_config_free)>;

// A TLS config from the lab's separate PEM files; `server_name` only on a client.
TlsConfig Tls(nng_tls_mode mode, const std::string& ca, const std::string& cert,
              const std::string& key, const std::string& server_name = "") {
  nng_tls_config* raw = nullptr;
  REQUIRE(nng_tls_config_alloc(&raw, mode) == 0);
  TlsConfig cfg(raw, nng_tls_config_free);  // a listener or dialer holds its own reference
  REQUIRE(nng_tls_config_ca_chain(raw, ReadAll(ca).c_str(), nullptr) == 0);
  REQUIRE(nng_tls_config_own_cert(raw, ReadAll(cert).c_str(), ReadAll(key).c_str(), nullptr) == 0);
  REQUIRE(nng_tls_config_auth_mode(raw, NNG_TLS_AUTH_MODE_REQUIRED) == 0);
  if (!server_name.empty()) REQUIRE(nng_tls_config_server_name(raw, server_name.c_str()) == 0);
  return cfg;
}

// A rep socket listening with tls+tcp on `address` (any port); returns the URL to dial.
std::string Listen(nng_socket rep, const TlsConfig& cfg, const std::string& address) {
  nng_listener l;
  REQUIRE(nng_listener_create(&l, rep, ("tls+tcp://" + address + ":0").c_str()) == 0);
  REQUIRE(nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, cfg.get()) == 0);  // before start, or ignored
  REQUIRE(nng_listener_start(l, 0) == 0);
  nng_sockaddr sa;
  REQUIRE(nng_listener_get_addr(l, NNG_OPT_LOCADDR, &sa) == 0);
  return "tls+tcp://" + address + ":" + std::to_string(ntohs(sa.s_in.sa_port));
}

// nng's result for one blocking dial of `url` with `cfg`.
int Dial(const std::string& url, const TlsConfig& cfg) {
  nng_socket req;
  REQUIRE(nng_req0_open(&req) == 0);
  nng_dialer d;
  REQUIRE(nng_dialer_create(&d, req, url.c_str()) == 0);
  REQUIRE(nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, cfg.get()) == 0);
  int rv = nng_dialer_start(d, 0);
  nng_close(req);
  return rv;
}

}  // namespace

TEST_CASE("lab_test: every host answers ssh on its own address, and nothing else runs there") {
  if (auto why = NetnsLab::Unavailable(); !why.empty()) SKIP(why);
  NetnsLab lab(3);
  REQUIRE(lab.hosts().size() == 3);
  for (const auto& h : lab.hosts()) {
    INFO(h.name);
    CommandResult r = Ssh(lab, h.name, "ip -o -4 addr show eth0");
    CHECK(r.exit_code == 0);
    CHECK(r.output.find("inet " + h.address + "/24") != std::string::npos);
    CHECK(lab.Exec(h.name, "ip -o -4 addr show eth0").find("inet " + h.address + "/24") !=
          std::string::npos);
    // Once the session is over its sshd processes go: only the listener remains.
    CHECK(WaitFor([&] { return lab.ForeignPids(h.name).empty(); }, 5s));
    CHECK(Alive(lab.sshd_pid(h.name)));
  }
  CHECK(lab.root_address() ==
        lab.hosts()[0].address.substr(0, lab.hosts()[0].address.rfind('.')) + ".254");
  // A key the sshds do not authorize is refused.
  std::string other = lab.dir() + "/other_key";
  REQUIRE(RunCommand({"ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other}).exit_code == 0);
  std::vector<std::string> argv = lab.SshArgv("h1");
  argv[argv.size() - 2] = other;  // the -i argument
  argv.push_back("true");
  CHECK(RunCommand(argv).exit_code == 255);
  CHECK_THROWS_AS(NetnsLab(1), std::runtime_error);  // one lab per process at a time
}

TEST_CASE("lab_test: hosts reach each other and the root namespace over tcp") {
  if (auto why = NetnsLab::Unavailable(); !why.empty()) SKIP(why);
  NetnsLab lab(3);
  for (const auto& from : lab.hosts()) {
    for (const auto& to : lab.hosts()) {
      INFO(from.name << " -> " << to.name);
      CHECK(Probe(lab, from.name, to.address) == "open");
    }
  }
  // Where the controller runs: a listener on the root namespace's bridge address.
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  REQUIRE(fd >= 0);
  sockaddr_in sa{};
  sa.sin_family = AF_INET;
  REQUIRE(inet_pton(AF_INET, lab.root_address().c_str(), &sa.sin_addr) == 1);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&sa), sizeof sa) == 0);
  REQUIRE(listen(fd, 16) == 0);
  socklen_t len = sizeof sa;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&sa), &len) == 0);
  for (const auto& h : lab.hosts()) {
    INFO(h.name);
    CHECK(Probe(lab, h.name, lab.root_address(), ntohs(sa.sin_port)) == "open");
  }
  close(fd);
}

TEST_CASE("lab_test: a partitioned host hears nothing until healed") {
  if (auto why = NetnsLab::Unavailable(); !why.empty()) SKIP(why);
  NetnsLab lab(3);
  std::string h2 = lab.host("h2").address, h3 = lab.host("h3").address;
  REQUIRE(Probe(lab, "h1", h2) == "open");  // h1 talked to h2 before the cut, h2 never to h3
  lab.Partition("h2", true);
  // Silence, not a refusal, both ways, also after the 3 s in which a failed ARP resolution
  // would have turned it into EHOSTUNREACH.
  CHECK(Probe(lab, "h1", h2, 22, 4) == "rc=124");
  CHECK(Probe(lab, "h2", h3, 22, 4) == "rc=124");
  CHECK(Probe(lab, "h1", h3) == "open");  // the others still talk
  CHECK(Ssh(lab, "h2", "true", "1").exit_code == 255);
  CHECK(Ssh(lab, "h3", "true").exit_code == 0);

  lab.Partition("h2", false);
  // At once: no retry. The 5 s limit is for starting bash on a loaded machine, where the
  // default second was seen to run out.
  CHECK(Probe(lab, "h1", h2, 22, 5) == "open");
  CHECK(Probe(lab, "h2", h3, 22, 5) == "open");
  CHECK(Ssh(lab, "h2", "true").exit_code == 0);
}

TEST_CASE("lab_test: certificates verify against the lab CA, the rogue ones do not") {
  if (auto why = NetnsLab::Unavailable(); !why.empty()) SKIP(why);
  NetnsLab lab(2);
  for (std::string name : {"h1", "h2", "root"}) {
    INFO(name);
    CHECK(Openssl("verify -CAfile " + lab.ca_cert() + " " + lab.cert(name)) ==
          lab.cert(name) + ": OK\n");
    CHECK(Openssl("verify -CAfile " + lab.rogue_ca_cert() + " " + lab.cert(name)).find(": OK") ==
          std::string::npos);
    // The key is the certificate's.
    CHECK(Openssl("x509 -noout -pubkey -in " + lab.cert(name)) ==
          Openssl("pkey -pubout -in " + lab.key(name)));
  }
  CHECK(Openssl("x509 -noout -ext subjectAltName -in " + lab.cert("h2"))
            .find("DNS:" + lab.host("h2").address + ", DNS:h2") != std::string::npos);
  CHECK(Openssl("x509 -noout -ext subjectAltName -in " + lab.cert("root"))
            .find("DNS:" + lab.root_address() + ", DNS:localhost, DNS:127.0.0.1") !=
        std::string::npos);
  CHECK(Openssl("verify -CAfile " + lab.ca_cert() + " " + lab.rogue_cert()).find(": OK") ==
        std::string::npos);
  CHECK(Openssl("verify -CAfile " + lab.rogue_ca_cert() + " " + lab.rogue_cert()) ==
        lab.rogue_cert() + ": OK\n");

  // nng 1.5 with mbed TLS 2.28 accepts them: a node (h1's certificate) dials the controller.
  nng_socket rep;
  REQUIRE(nng_rep0_open(&rep) == 0);
  std::string root = lab.root_address();
  std::string url =
      Listen(rep, Tls(NNG_TLS_MODE_SERVER, lab.ca_cert(), lab.cert("root"), lab.key("root")), root);
  CHECK(Dial(url, Tls(NNG_TLS_MODE_CLIENT, lab.ca_cert(), lab.cert("h1"), lab.key("h1"), root)) ==
        0);
  // Refused: a client trusting only the rogue CA, a wrong server name, a rogue client.
  CHECK(Dial(url, Tls(NNG_TLS_MODE_CLIENT, lab.rogue_ca_cert(), lab.rogue_cert(), lab.rogue_key(),
                      root)) == NNG_ECRYPTO);
  CHECK(Dial(url, Tls(NNG_TLS_MODE_CLIENT, lab.ca_cert(), lab.cert("h1"), lab.key("h1"),
                      lab.host("h2").address)) == NNG_ECRYPTO);
  CHECK(Dial(url, Tls(NNG_TLS_MODE_CLIENT, lab.ca_cert(), lab.rogue_cert(), lab.rogue_key(),
                      root)) != 0);
  nng_close(rep);
  // A controller with the rogue certificate is refused by a node that trusts the lab CA.
  REQUIRE(nng_rep0_open(&rep) == 0);
  url =
      Listen(rep, Tls(NNG_TLS_MODE_SERVER, lab.ca_cert(), lab.rogue_cert(), lab.rogue_key()), root);
  CHECK(Dial(url, Tls(NNG_TLS_MODE_CLIENT, lab.ca_cert(), lab.cert("h1"), lab.key("h1"), root)) ==
        NNG_ECRYPTO);
  nng_close(rep);
}

TEST_CASE(
    "lab_test: after the lab is gone, nothing of it remains, not even processes started inside") {
  if (auto why = NetnsLab::Unavailable(); !why.empty()) SKIP(why);
  std::vector<pid_t> pids;
  std::string dir;
  {
    NetnsLab lab(2);
    dir = lab.dir();
    REQUIRE(lab.ForeignPids("h1").empty());
    lab.Exec("h1", "sleep 300 </dev/null >/dev/null 2>&1 &");
    REQUIRE(Ssh(lab, "h2", "sleep 300 </dev/null >/dev/null 2>&1 &").exit_code == 0);
    for (const auto& h : lab.hosts()) {
      INFO(h.name);
      auto foreign = lab.ForeignPids(h.name);
      CHECK(!foreign.empty());
      pids.insert(pids.end(), foreign.begin(), foreign.end());
      pids.push_back(lab.sshd_pid(h.name));
    }
    lab.Partition("h2", true);  // a cut host is torn down too
    CHECK(LabNamesLeft() != "");
  }
  CHECK(LabNamesLeft() == "");
  for (pid_t p : pids) {
    INFO("pid " << p);
    CHECK(!Alive(p));
  }
  CHECK(!std::filesystem::exists(dir));
}

TEST_CASE("lab_test: a new lab removes what a killed test process left, and only that") {
  if (auto why = NetnsLab::Unavailable(); !why.empty()) SKIP(why);
  // A pid that ran and is gone: the shell's own.
  std::string dead = RunCommand({"sh", "-c", "echo $$"}).output;
  dead = dead.substr(0, dead.find('\n'));
  REQUIRE(!Alive(std::stoi(dead)));
  // ctest, our parent, outlives this test; a lab name of its pid belongs to a live process.
  std::string ns = "arblab-" + dead + "-h1",
              live_ns = "arblab-" + std::to_string(getppid()) + "-h1";
  std::string stale_dir = "/tmp/arblab-" + dead + "-Xstale";
  auto run = [](const std::string& cmd) {
    CommandResult r = RunCommand({"sh", "-c", cmd});
    INFO(cmd << ": " << r.output);
    REQUIRE(r.exit_code == 0);
    return r.output;
  };
  run("ip netns add " + ns + " && ip netns add " + live_ns);
  run("ip link add arbr" + dead + " type bridge && ip link add arbv" + dead +
      "h1 type veth peer name eth0 netns " + ns);
  run("ip netns exec " + ns + " sh -c 'sleep 300 </dev/null >/dev/null 2>&1 &'");
  pid_t sleeper = static_cast<pid_t>(std::stol(run("ip netns pids " + ns)));
  std::filesystem::create_directories(stale_dir);

  {
    NetnsLab lab(1);
    std::string names = run("ip netns list; ip -br link show");
    CHECK(names.find(ns) == std::string::npos);
    CHECK(names.find("arbr" + dead) == std::string::npos);
    CHECK(names.find("arbv" + dead) == std::string::npos);
    CHECK(names.find(live_ns) != std::string::npos);
    CHECK(!Alive(sleeper));
    CHECK(!std::filesystem::exists(stale_dir));
  }
  run("ip netns del " + live_ns);
}
