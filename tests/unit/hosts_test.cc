// Hosts without processes: the hosts part of the config (strict loading, endpoints, ports,
// TLS merging, the handoff), the typed control messages, and which launcher HostLauncher picks,
// through a fake local launcher.
#include <catch2/catch.hpp>

#include "arbor/config.h"
#include "arbor/config_handoff.h"
#include "arbor/launcher.h"
#include "arbor/control.h"

namespace arbor {
namespace {

const char* kHosts =
    "transport:\n"
    "  endpoint: \"tls+tcp://{address}:{port}\"\n"
    "  port_base: 9000\n"
    "  tls: {ca: /ca.pem, cert: /ctl.pem, key: /ctl.key}\n"
    "hosts:\n"
    "  - {name: h1, address: 10.0.0.1}\n"
    "  - name: h2\n"
    "    address: 10.0.0.2\n"
    "    launch: ssh\n"
    "    ssh: {user: arbor, port: 2222, identity: /id, known_hosts: /kh, options: [ConnectTimeout=3]}\n"
    "    arbor_node: /opt/arbor-node\n"
    "    tls: {cert: /h2.pem, key: /h2.key}\n"
    "  - {name: h3, address: h3.example.net, launch: external}\n";

Result<Config> Load(const std::string& yaml) { return LoadConfigString(yaml, "test.yaml"); }

std::string Error(const std::string& yaml) {
  Result<Config> c = Load(yaml);
  INFO("yaml:\n" << yaml);
  REQUIRE_FALSE(c.ok());
  return c.status().message();
}

TEST_CASE("hosts config: hosts, launch modes, ssh settings and TLS overrides load") {
  Result<Config> c = Load(std::string(kHosts) + "placement: round-robin\nnodes:\n  - {id: 5, host: h3}\n");
  REQUIRE(c.ok());
  REQUIRE(c->hosts.size() == 3);
  CHECK(c->hosts[0].launch == HostSpec::Launch::kLocal);
  const HostSpec* h2 = c->Host("h2");
  REQUIRE(h2 != nullptr);
  CHECK(h2->launch == HostSpec::Launch::kSsh);
  CHECK(h2->ssh_user == "arbor");
  CHECK(h2->ssh_port == 2222);
  CHECK(h2->ssh_options == std::vector<std::string>{"ConnectTimeout=3"});
  CHECK(h2->arbor_node == "/opt/arbor-node");
  // Per-host fields override the deployment's, field by field.
  CHECK(h2->tls.ca == "/ca.pem");
  CHECK(h2->tls.cert == "/h2.pem");
  CHECK(c->Host("h1")->tls.cert == "/ctl.pem");
  CHECK(c->TlsFor("") .key == "/ctl.key");
  CHECK(c->placement == Config::Placement::kRoundRobin);
  CHECK(c->HostOf(5) == "h3");
  CHECK(c->EndpointFor("s", 30, "h2") == "tls+tcp://10.0.0.2:9030");
  CHECK(c->EndpointFor("s", 30, "h3") == "tls+tcp://h3.example.net:9030");
  CHECK(c->PortFor(56535) == 65535);
  CHECK_FALSE(c->PortFor(56536));
  CHECK_FALSE(c->PortFor(-9000));
}

TEST_CASE("hosts config: bad hosts get clear errors with a position") {
  auto with = [](const std::string& extra) { return std::string(kHosts) + extra; };
  CHECK_THAT(Error(with("placement: h9\n")), Catch::Contains("there is no host 'h9'"));
  CHECK_THAT(Error(with("nodes:\n  - {id: 5, host: h9}\n")),
             Catch::Contains("node 5 names host 'h9'"));
  CHECK_THAT(Error(with("nodes:\n  - {id: 70000, host: h1}\n")),
             Catch::Contains("outside 1-65535"));
  CHECK_THAT(Error("hosts:\n  - {name: a, address: 1.2.3.4, launch: telnet}\n"),
             Catch::Contains("launch must be 'local', 'ssh' or 'external'"));
  CHECK_THAT(Error("hosts:\n  - {name: a}\n"), Catch::Contains("needs a name and an address"));
  CHECK_THAT(Error("hosts:\n  - {name: a, address: \"1.2.3.4; rm -rf /\"}\n"),
             Catch::Contains("must be a host name or address"));
  CHECK_THAT(Error("hosts:\n  - {name: a, address: 1.1.1.1}\n  - {name: a, address: 1.1.1.2}\n"),
             Catch::Contains("host 'a' is listed twice"));
  CHECK_THAT(Error("hosts:\n  - {name: a, address: 1.1.1.1, ssh: {user: x}}\n"),
             Catch::Contains("does not say 'launch: ssh'"));
  CHECK_THAT(Error("hosts:\n  - {name: a, address: 1.1.1.1, launch: ssh, ssh: {options: [\"A B\"]}}\n"),
             Catch::Contains("Key=value"));
  CHECK_THAT(Error("placement: round-robin\n"), Catch::Contains("placement needs a 'hosts' list"));
  std::string where = Error("hosts:\n  - {name: a, address: 1.1.1.1, bogus: 1}\n");
  CHECK_THAT(where, Catch::StartsWith("test.yaml:2:"));
  CHECK_THAT(where, Catch::Contains("unknown key 'bogus'"));
}

TEST_CASE("hosts config: endpoints with hosts, plain tcp needs insecure, tls must be complete") {
  std::string hosts = "hosts:\n  - {name: a, address: 10.1.1.1}\n";
  // With hosts, the default abstract endpoint cannot reach anything: say what to write.
  CHECK_THAT(Error(hosts), Catch::Contains("tls+tcp://{address}:{port}"));
  CHECK_THAT(Error("transport:\n  endpoint: \"tcp://{address}:7000\"\n" + hosts),
             Catch::Contains("{address} and {port}"));
  std::string plain = "transport:\n  endpoint: \"tcp://{address}:{port}\"\n";
  CHECK_THAT(Error(plain + hosts), Catch::Contains("insecure: true"));
  CHECK(Load("transport:\n  endpoint: \"tcp://{address}:{port}\"\n  insecure: true\n" + hosts).ok());
  // Loopback hosts need no TLS and no insecure flag.
  CHECK(Load(plain + "hosts:\n  - {name: a, address: 127.0.0.2}\n").ok());
  std::string tls = "transport:\n  endpoint: \"tls+tcp://{address}:{port}\"\n";
  CHECK_THAT(Error(tls + hosts), Catch::Contains("transport.tls with ca, cert and key"));
  CHECK_THAT(Error(tls + "  tls: {ca: /c}\n" + hosts), Catch::Contains("ca, cert and key"));
  CHECK(Load(tls + "  tls: {ca: /c, cert: /d, key: /e}\n" + hosts).ok());
}

TEST_CASE("hosts config: the handoff carries hosts, and the digest ignores the file's path") {
  Result<Config> c = Load(std::string(kHosts) + "nodes:\n  - {id: 5, host: h3}\n");
  REQUIRE(c.ok());
  Result<Config> back = ConfigFromHex(ConfigToHex(*c));
  REQUIRE(back.ok());
  CHECK(EncodeConfig(*back) == EncodeConfig(*c));
  CHECK(back->Host("h2")->ssh_known_hosts == "/kh");
  CHECK(back->HostOf(5) == "h3");
  Config moved = *c;
  moved.source = "/elsewhere/deployment.yaml";
  CHECK(ConfigDigest(moved) == ConfigDigest(*c));
  moved.request_ms += 1;
  CHECK(ConfigDigest(moved) != ConfigDigest(*c));
  CHECK_FALSE(ConfigFromHex("abc").ok());
  CHECK_FALSE(ConfigFromHex("zz").ok());
  CHECK_FALSE(ConfigFromHex(ConfigToHex(*c).substr(0, 40)).ok());
}

TEST_CASE("control messages: round trips, and garbage is an error, not a crash") {
  SpawnArgs s{-7, "h2", "tls+tcp://10.0.0.2:9000", 1234};
  Result<SpawnArgs> s2 = DecodeSpawnArgs(Encode(s));
  REQUIRE(s2.ok());
  CHECK((s2->id == -7 && s2->host == "h2" && s2->url == s.url && s2->pid == 1234));
  Result<Identity> i = DecodeIdentity(Encode(Identity{5, 99, "h3", "abcd"}));
  REQUIRE(i.ok());
  CHECK((i->id == 5 && i->pid == 99 && i->host == "h3" && i->digest == "abcd"));
  SweepEntry a{1, 10, "h1", {{2, "up", 0, 20, "h2"}}}, b{2, 20, "h2", {}};
  Result<std::vector<SweepEntry>> sweep = DecodeSweep(Encode(a) + Encode(b));
  REQUIRE(sweep.ok());
  REQUIRE(sweep->size() == 2);
  CHECK((*sweep)[0].children.at(0).state == "up");
  CHECK((*sweep)[1].host == "h2");
  CHECK(DecodeSweep("").ok());

  for (std::string bad : {std::string(""), std::string("\x01", 1), std::string(64, '\xff'),
                          Encode(s) + "x", Encode(s).substr(0, 9)}) {
    CHECK_FALSE(DecodeSpawnArgs(bad).ok());
    CHECK_FALSE(DecodeIdentity(bad).ok());
  }
  CHECK_FALSE(DecodeSweep(Encode(a).substr(0, 10)).ok());
  CHECK_FALSE(DecodeSweep(std::string("\xff\xff\xff\x7f", 4)).ok());
  // More than two children is no node's report.
  SweepEntry three{1, 1, "", {{2, "up", 0, 2, ""}, {3, "up", 0, 3, ""}, {4, "up", 0, 4, ""}}};
  CHECK_FALSE(DecodeSweep(Encode(three)).ok());
  // A bad entry costs the entries from it on, not the ones before: a sweep that failed whole
  // would report every node unreachable.
  for (std::string tail : {Encode(b).substr(0, 5), Encode(three), std::string("\xff", 1)}) {
    Result<std::vector<SweepEntry>> partial = DecodeSweep(Encode(a) + tail);
    REQUIRE(partial.ok());
    REQUIRE(partial->size() == 1);
    CHECK((*partial)[0].id == 1);
  }
}

// Records what it was asked to start instead of starting anything.
struct FakeLocal final : Launcher {
  std::vector<NodeLaunch> calls;
  Result<LaunchedNode> Launch(const NodeLaunch& l) override {
    calls.push_back(l);
    if (l.id == 13) return Unavailable("exited before it was ready");
    return LaunchedNode{4242, 4242, "tls+tcp://fake"};
  }
};

TEST_CASE("launcher: each host's launch mode picks the launcher, and errors name the host") {
  Result<Config> c = Load(kHosts);
  REQUIRE(c.ok());
  FakeLocal local;
  NodeLaunch l;
  l.id = 5;
  l.start_timeout = std::chrono::milliseconds(200);

  // The controller starts nodes on the local host itself.
  auto controller = MakeHostLauncher(*c, "", local);
  l.host = "h1";
  REQUIRE(controller->Launch(l).ok());
  CHECK(local.calls.size() == 1);
  l.id = 13;
  Result<LaunchedNode> failed = controller->Launch(l);
  REQUIRE_FALSE(failed.ok());
  CHECK(failed.status().message() == "host h1 (10.0.0.1): exited before it was ready");
  l.id = 5;
  l.host = "h9";
  CHECK_THAT(controller->Launch(l).status().message(), Catch::Contains("no host 'h9'"));
  l.host = "h1";
  l.id = 60000;
  CHECK_THAT(controller->Launch(l).status().message(), Catch::Contains("outside 1-65535"));

  // A node on h2 (an ssh host) can start neither ssh nodes nor nodes on the controller's
  // machine: those are the controller's to start.
  auto remote = MakeHostLauncher(*c, "h2", local);
  l.id = 5;
  for (const char* host : {"h1", "h2"}) {
    l.host = host;
    Result<LaunchedNode> r = remote->Launch(l);
    REQUIRE_FALSE(r.ok());
    CHECK_THAT(r.status().message(), Catch::Contains("only be started by the controller"));
  }
  CHECK(local.calls.size() == 2);  // the refused ones never reached the local launcher

  // The controller's ssh launcher is injected (nodes carry none): ssh hosts go to it.
  auto ssh = std::make_unique<FakeLocal>();
  FakeLocal* ssh_calls = ssh.get();
  auto with_ssh = MakeHostLauncher(*c, "", local, std::move(ssh));
  l.host = "h2";
  REQUIRE(with_ssh->Launch(l).ok());
  CHECK(ssh_calls->calls.size() == 1);
  CHECK(local.calls.size() == 2);
  CHECK_THAT(controller->Launch(l).status().message(),
             Catch::Contains("only be started by the controller"));

  // Who starts a node under a parent: the controller for ssh hosts and for the controller's
  // machine under a remote parent; the parent otherwise.
  CHECK(ControllerStarts(*c, "h1", "h2"));
  CHECK(ControllerStarts(*c, "h2", "h2"));
  CHECK(ControllerStarts(*c, "h2", "h1"));
  CHECK_FALSE(ControllerStarts(*c, "h1", "h1"));
  CHECK_FALSE(ControllerStarts(*c, "h2", "h3"));
}

}  // namespace
}  // namespace arbor
