// arbor-netns-lab: a NetnsLab (netns_lab.h) for a harness that is not C++ (the chaos suite's
// --lab mode, tests/chaos/chaos.py; docs/chaos.md).
//
//   arbor-netns-lab [--hosts N] [--arbor-node PATH] [--port-base P] [--scheme tls+tcp|tcp]
//
// Builds a lab of N hosts (default 3), prints one JSON line on stdout describing it (hosts with
// their name, address, veth, namespace, certificate and key; the ssh identity, known_hosts and
// user; the CA and the controller's certificate; and `yaml`, the transport: and hosts: sections
// of a deployment whose hosts are the lab's, launched by ssh, over tls+tcp, written as
// hosts_test.cc's HostsYaml writes them), then waits until its stdin reaches end of file, or
// SIGTERM, SIGINT or SIGHUP arrives, and removes the lab: the processes in its namespaces, the
// namespaces, the links and its files (~NetnsLab). Started with stdin from /dev/null, it removes
// the lab at once. Killed with SIGKILL it cannot; the next lab built on the machine removes
// what it left (netns_lab.h).
//
// Exit status: 0 after the teardown; 77 when a lab cannot run here (not root, no sshd, no
// namespaces: NetnsLab::Unavailable(), the reason on stderr and as {"unavailable": ...} on
// stdout); 1 when building it failed (the reason on stderr); 2 for a usage error.
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <iostream>
#include <optional>
#include <string>

#include "netns_lab.h"

using arbor::testing::LabHost;
using arbor::testing::NetnsLab;

namespace {

// A JSON string literal.
std::string Quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

struct Options {
  int hosts = 3;
  std::string arbor_node = std::string(ARBOR_BIN_DIR) + "/arbor-node";
  int port_base = 20000;
  std::string scheme = "tls+tcp";
};

// The deployment's transport: and hosts: sections, as hosts_test.cc's HostsYaml writes them.
// Paths go in double quotes (JSON strings are YAML strings).
std::string HostsYaml(const NetnsLab& lab, const Options& o) {
  std::string y = "transport:\n  endpoint: \"" + o.scheme + "://{address}:{port}\"\n" +
                  "  port_base: " + std::to_string(o.port_base) + "\n" +
                  (o.scheme == "tcp" ? "  insecure: true\n" : "") +
                  "  tls: {ca: " + Quote(lab.ca_cert()) + ", cert: " + Quote(lab.cert("root")) +
                  ", key: " + Quote(lab.key("root")) + "}\n";
  y += "hosts:\n";
  for (const LabHost& h : lab.hosts()) {
    y += "  - name: " + h.name + "\n    address: " + h.address + "\n    launch: ssh\n";
    y += "    ssh: {user: root, identity: " + Quote(lab.ssh_identity()) +
         ", known_hosts: " + Quote(lab.known_hosts()) + "}\n";
    y += "    arbor_node: " + Quote(o.arbor_node) + "\n";
    y += "    tls: {cert: " + Quote(lab.cert(h.name)) + ", key: " + Quote(lab.key(h.name)) + "}\n";
  }
  return y;
}

std::string Describe(const NetnsLab& lab, const Options& o) {
  std::string j = "{\"pid\": " + std::to_string(getpid()) + ", \"dir\": " + Quote(lab.dir()) +
                  ", \"bridge\": " + Quote(lab.bridge()) +
                  ", \"root_address\": " + Quote(lab.root_address()) + ", \"hosts\": [";
  bool first = true;
  for (const LabHost& h : lab.hosts()) {
    j += std::string(first ? "" : ", ") + "{\"name\": " + Quote(h.name) +
         ", \"address\": " + Quote(h.address) + ", \"veth\": " + Quote(h.veth) +
         ", \"netns\": " + Quote(h.netns) + ", \"cert\": " + Quote(lab.cert(h.name)) +
         ", \"key\": " + Quote(lab.key(h.name)) +
         ", \"sshd_pid\": " + std::to_string(lab.sshd_pid(h.name)) + "}";
    first = false;
  }
  j += "], \"ssh\": {\"user\": \"root\", \"identity\": " + Quote(lab.ssh_identity()) +
       ", \"known_hosts\": " + Quote(lab.known_hosts()) + "}";
  j += ", \"tls\": {\"ca\": " + Quote(lab.ca_cert()) + ", \"cert\": " + Quote(lab.cert("root")) +
       ", \"key\": " + Quote(lab.key("root")) + "}";
  j += ", \"scheme\": " + Quote(o.scheme) + ", \"port_base\": " + std::to_string(o.port_base) +
       ", \"arbor_node\": " + Quote(o.arbor_node);
  j += ", \"yaml\": " + Quote(HostsYaml(lab, o)) + "}";
  return j;
}

int Usage(const std::string& why) {
  std::cerr << "arbor-netns-lab: " << why << "\n"
            << "usage: arbor-netns-lab [--hosts N] [--arbor-node PATH] [--port-base P] "
               "[--scheme tls+tcp|tcp]\n";
  return 2;
}

std::optional<int> Number(const char* s, int lo, int hi) {
  char* end = nullptr;
  errno = 0;
  long v = strtol(s, &end, 10);
  if (errno != 0 || end == s || *end != '\0' || v < lo || v > hi) return std::nullopt;
  return static_cast<int>(v);
}

// Until stdin reaches end of file (or fails) or one of the signals in `sigfd` arrives.
void WaitForTheEnd(int sigfd) {
  char buf[4096];
  for (;;) {
    pollfd fds[2] = {{0, POLLIN, 0}, {sigfd, POLLIN, 0}};
    int n = poll(fds, 2, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return;
    }
    if (fds[1].revents & POLLIN) {
      signalfd_siginfo info;
      if (read(sigfd, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        std::cerr << "arbor-netns-lab: " << strsignal(static_cast<int>(info.ssi_signo))
                  << ": removing the lab\n";
      }
      return;
    }
    if (fds[0].revents & (POLLIN | POLLHUP | POLLERR | POLLNVAL)) {
      ssize_t got = read(0, buf, sizeof buf);  // anything written to us is ignored
      if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) return;
      if (fds[0].revents & POLLNVAL) return;
    }
  }
}

}  // namespace

int main(int argc, char* argv[]) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "-h" || a == "--help") {
      Usage("a lab of network namespaces for the chaos suite (docs/chaos.md)");
      return 0;
    }
    if (i + 1 >= argc) return Usage(a + " needs a value, or is unknown");
    const char* v = argv[++i];
    if (a == "--hosts") {
      auto n = Number(v, 1, 99);
      if (!n) return Usage("--hosts: 1 to 99");
      o.hosts = *n;
    } else if (a == "--arbor-node") {
      o.arbor_node = v;
    } else if (a == "--port-base") {
      auto n = Number(v, 1, 65535);
      if (!n) return Usage("--port-base: 1 to 65535");
      o.port_base = *n;
    } else if (a == "--scheme") {
      o.scheme = v;
      if (o.scheme != "tls+tcp" && o.scheme != "tcp") return Usage("--scheme: tls+tcp or tcp");
    } else {
      return Usage("unknown argument " + a);
    }
  }

  // The signals that end the lab are read from a signalfd, from the start: one that arrives
  // while the lab is being built ends it as soon as it is built, through the same teardown.
  // SIGCHLD is blocked as in the test main (the lab's helpers reap with waitpid), and this
  // process is a subreaper, so that what sshd's sessions leave when sshd is killed is
  // reparented here and reaped instead of lingering as zombies. SIGPIPE: a reader that went
  // away must not kill us before the teardown.
  sigset_t ends;
  sigemptyset(&ends);
  for (int s : {SIGTERM, SIGINT, SIGHUP}) sigaddset(&ends, s);
  sigset_t blocked = ends;
  sigaddset(&blocked, SIGCHLD);
  sigprocmask(SIG_BLOCK, &blocked, nullptr);
  signal(SIGPIPE, SIG_IGN);
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  int sigfd = signalfd(-1, &ends, SFD_CLOEXEC);
  if (sigfd < 0) {
    std::cerr << "arbor-netns-lab: signalfd: " << strerror(errno) << "\n";
    return 1;
  }

  if (std::string why = NetnsLab::Unavailable(); !why.empty()) {
    std::cerr << "arbor-netns-lab: no lab here: " << why << "\n";
    std::cout << "{\"unavailable\": " << Quote(why) << "}" << std::endl;
    return 77;
  }
  try {
    NetnsLab lab(o.hosts);
    std::cout << Describe(lab, o) << std::endl;  // flushed: the harness waits for this line
    WaitForTheEnd(sigfd);
  } catch (const std::exception& e) {  // the lab removed what it had made before throwing
    std::cerr << "arbor-netns-lab: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
