// NodeLink's dialer: a link told to stop dialing stays a link without a connection (calls fail
// at once) and makes no connection even when a listener comes back, until Redial().
#include <unistd.h>

#include <chrono>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "arbor/node_link.h"
#include "server.h"

namespace arbor {
namespace {

using namespace std::chrono_literals;

// A rep socket listening at `url`, so that a link has something to connect to.
nng_socket ListenAt(const std::string& url) {
  nng_socket rep = NNG_SOCKET_INITIALIZER;
  REQUIRE(nng_rep0_open(&rep) == 0);
  REQUIRE(nng_listen(rep, url.c_str(), nullptr, 0) == 0);
  return rep;
}

bool WaitDisconnected(const NodeLink& link, std::chrono::milliseconds within) {
  for (auto end = Clock::now() + within; Clock::now() < end;) {
    if (!link.connected()) return true;
    std::this_thread::sleep_for(1ms);
  }
  return !link.connected();
}

// The link dials an address where nobody listens, as a parent's link to a killed child does,
// and is told to give up on it.
TEST_CASE("a link that stopped dialing stays unconnected until Redial") {
  std::string url = "abstract://arbor-test/node-link-" + std::to_string(getpid());
  Result<std::unique_ptr<NodeLink>> dialed = NodeLink::Dial(url, LinkOptions{});
  REQUIRE(dialed.ok());
  NodeLink& link = **dialed;
  CHECK(link.dialing());
  link.StopDialing();
  CHECK_FALSE(link.dialing());
  link.StopDialing();  // idempotent

  // Somebody listens there now: a dialing link (reconnect_max_ms 200) would connect within a
  // fraction of this wait.
  nng_socket rep = ListenAt(url);
  std::this_thread::sleep_for(800ms);
  CHECK_FALSE(link.connected());
  Request q;
  q.target = 1;
  Result<Reply> r = link.Call(q, DeadlineIn(5000ms));
  REQUIRE_FALSE(r.ok());
  CHECK(r.status().code() == Code::kUnavailable);

  CHECK(link.Redial().ok());
  CHECK(link.dialing());
  CHECK(link.Redial().ok());  // already dialing: nothing to do
  CHECK(link.WaitConnected(DeadlineIn(2000ms)));

  // Stopping a connected link's dialer drops its connection too.
  link.StopDialing();
  CHECK(WaitDisconnected(link, 2000ms));

  link.Close();
  CHECK_FALSE(link.dialing());
  CHECK(link.Redial().code() == Code::kUnavailable);
  link.StopDialing();  // a no-op once closed
  nng_close(rep);
}

// A server counts as peers only the connections that said something valid: a link's hello
// makes it one at once, a connection that only did the SP handshake never does.
TEST_CASE("server: a link is a peer once greeted and a silent connection is not") {
  std::string url = "abstract://arbor-test/server-peers-" + std::to_string(getpid());
  auto server = Server::Listen(url, LinkOptions{}, 4, [](Server::Exchange*, nng_msg* m) {
    nng_msg_free(m);  // no request is sent in this test
  });
  REQUIRE(server.ok());
  REQUIRE((*server)->Start().ok());
  nng_socket silent = NNG_SOCKET_INITIALIZER;
  REQUIRE(nng_req0_open(&silent) == 0);
  REQUIRE(nng_dial(silent, url.c_str(), nullptr, 0) == 0);
  Result<std::unique_ptr<NodeLink>> link = NodeLink::Dial(url, LinkOptions{});
  REQUIRE(link.ok());
  CHECK((*link)->WaitGreeted(DeadlineIn(2000ms)));
  CHECK((*server)->peers() == 1);
  CHECK((*server)->connections() == 2);
  (*link)->Close();
  for (auto end = Clock::now() + 2000ms; (*server)->peers() != 0 && Clock::now() < end;) {
    std::this_thread::sleep_for(1ms);
  }
  CHECK((*server)->peers() == 0);
  CHECK((*server)->connections() == 1);
  nng_close(silent);
  (*server)->Close();
}

}  // namespace
}  // namespace arbor
