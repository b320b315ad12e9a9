// NetnsLab: several "hosts" on one machine, for tests of arbor across hosts.
//
// Each host is a network namespace with its own address on a private bridge in the root
// namespace (where the controller runs), and its own sshd that lets in one lab key as root.
// The lab also makes a TLS deployment: a CA, a certificate per host and one for the root
// namespace, plus an unrelated "rogue" CA and certificate for refusal tests.
//
// Names carry the pid of the test process (netns arblab-<pid>-h<N>, bridge arbr<pid>, veth
// arbv<pid>h<N>, subnet 10.213.<X>.0/24), so labs of concurrent test processes never collide,
// and a lab left behind by a killed test process is removed by the next lab built. Building
// needs root; Unavailable() says why a lab cannot run here. One lab per process at a time.
// Host-to-host traffic crosses the root namespace's bridge: where br_netfilter is loaded (here it
// is, with no rules), an iptables FORWARD policy of DROP (as Docker sets) would cut it.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstddef>
#include <string>
#include <vector>

// Catch2 v2 has no SKIP (v3 has): here it warns with the reason and leaves the test case, which
// then counts as passed. Use it only at the top of a TEST_CASE body.
#ifndef SKIP
#define SKIP(why) \
  do {            \
    WARN(why);    \
    return;       \
  } while (false)
#endif

namespace arbor::testing {

struct LabHost {
  std::string name;     // "h1", "h2", ...
  std::string netns;    // the namespace name
  std::string address;  // e.g. "10.213.7.1"
  std::string veth;     // the root-side veth (partition = set it down)
};

// What a command printed (stdout and stderr together) and how it ended.
struct CommandResult {
  int exit_code = -1;  // -1 when it was killed by a signal or timed out
  bool timed_out = false;
  std::string output;
};

// Runs argv[0] (searched in PATH) with stdin from /dev/null, its own process group and default
// signal handling, collecting its output. After `timeout` the whole process group is killed.
CommandResult RunCommand(const std::vector<std::string>& argv,
                         std::chrono::milliseconds timeout = std::chrono::seconds(10));

class NetnsLab {
 public:
  // Empty when the lab can run here; otherwise one line saying why not.
  static std::string Unavailable();
  // Builds it all. On any failure, removes what it made and throws std::runtime_error with the
  // failing command and its output.
  explicit NetnsLab(int hosts = 3);
  ~NetnsLab();  // removes everything: processes in the namespaces, namespaces, links, files
  NetnsLab(const NetnsLab&) = delete;
  NetnsLab& operator=(const NetnsLab&) = delete;

  const std::vector<LabHost>& hosts() const { return hosts_; }
  const LabHost& host(const std::string& name) const;  // throws std::out_of_range
  std::string root_address() const { return prefix_ + "254"; }
  std::string bridge() const { return bridge_; }
  std::string dir() const { return dir_; }  // keys, certificates, sshd configs and logs

  // ssh client material: an ed25519 identity that every sshd authorizes for root, and a
  // known_hosts file holding every lab sshd host key under its address.
  std::string ssh_identity() const { return dir_ + "/id_ed25519"; }
  std::string known_hosts() const { return dir_ + "/known_hosts"; }
  // `ssh <options> root@<address>` for `host_name`, from the root namespace, ready for a command
  // to be appended. Batch mode, no user or system ssh config, strict host key checking.
  std::vector<std::string> SshArgv(const std::string& host_name) const;

  // TLS (EC P-256, PEM, key in its own file). Host certificates carry
  // subjectAltName=DNS:<address>,DNS:<name> (mbed TLS ignores IP SANs); "root" names the
  // controller's: DNS:<root_address>,DNS:localhost,DNS:127.0.0.1. All are for both serverAuth
  // and clientAuth. The rogue certificate has the root's SANs but comes from the rogue CA.
  std::string ca_cert() const { return dir_ + "/ca.pem"; }
  std::string cert(const std::string& host_name) const;
  std::string key(const std::string& host_name) const;
  std::string rogue_ca_cert() const { return dir_ + "/rogue-ca.pem"; }
  std::string rogue_cert() const { return dir_ + "/rogue.pem"; }
  std::string rogue_key() const { return dir_ + "/rogue.key"; }

  // Sets the host's root-side veth down (cut) or up. A cut is silence both ways, for new and for
  // established connections alike: no RST, no error (the lab's neighbour entries are static, so
  // no ARP failure turns it into EHOSTUNREACH). Links come back at once on the heal.
  void Partition(const std::string& host_name, bool cut);
  // Runs `sh -c cmd` inside the host's namespace (as root, no ssh); stdout+stderr. Gives up
  // after 10 s, killing it, and then ends the output with "<timed out>".
  std::string Exec(const std::string& host_name, const std::string& cmd) const;
  // `ip netns pids` of the host minus its lab sshd listener. An open ssh session shows up here
  // too (as its per-connection sshd processes).
  std::vector<pid_t> ForeignPids(const std::string& host_name) const;
  // The sshd listener of the host.
  pid_t sshd_pid(const std::string& host_name) const;

 private:
  void Build(int hosts);
  void MakeSshKeys();
  void MakeCertificates();
  void MakeCert(const std::string& name, const std::string& ca);
  void MakeNetwork();
  void AddNeighbours();
  void StartSshds();
  void WaitForSsh();
  void WaitForListeners(std::chrono::steady_clock::time_point deadline);
  std::vector<std::size_t> TrySsh(const std::vector<std::size_t>& hosts,
                                  std::chrono::steady_clock::time_point deadline, std::string* why);
  void Teardown() noexcept;

  int subnet_ = 0;      // X
  std::string prefix_;  // "10.213.<X>."
  std::string bridge_;
  std::string dir_;
  std::vector<LabHost> hosts_;
  std::vector<pid_t> sshds_;  // by host index; -1 before it starts
};

}  // namespace arbor::testing
