// NodeLink: the requesting end of one hop, a req socket dialled to one node.
//
// A node holds one NodeLink per child; the controller holds one for the root. Many calls may be
// in flight at once: each uses its own nng context, taken from a pool that grows on demand.
//
// Failure is reported fast. The link tracks whether the peer currently has a connection (pipe
// add/remove events). A call made while there is none fails at once with kUnavailable instead
// of waiting for its deadline; a call in flight when the peer dies fails with kUnavailable
// within milliseconds (nng reports ECONNRESET because resend is off); a call to a peer that is
// alive but silent (SIGSTOP) fails at its deadline. Resend is off because a resent request
// would run a command twice.
//
// Thread-safety: all methods may be called from any thread. Callbacks run on nng threads and
// must not call Close() on the same link.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <nng/nng.h>

#include "arbor/config.h"
#include "arbor/deadline.h"
#include "arbor/message.h"
#include "arbor/result.h"

namespace arbor {

struct LinkOptions {
  std::size_t max_message_bytes = 1 << 20;
  int reconnect_min_ms = 10;
  int reconnect_max_ms = 200;
  TlsFiles tls;  // used for tls+tcp:// urls: ours, and the CA the peer must be signed by
  // For a listening end only (Server): connections it holds at once. Config::max_connections.
  int max_connections = 64;
};

class NodeLink {
 public:
  // Called exactly once per call: with the reply message (the callee owns it), or with nullptr
  // and the Status that says why there is none.
  using Callback = std::function<void(nng_msg* reply, Status status)>;

  // Dials `url` without blocking; the connection comes up in the background. With
  // `connect_within` above zero, the first connection is made before Dial returns, so that a
  // refused one (no listener, a bad certificate) is an error naming the reason instead of a
  // silent retry; a peer that does not answer at all (a host cut off) fails when that time is
  // up rather than after the kernel's connect timeout.
  static Result<std::unique_ptr<NodeLink>> Dial(
      const std::string& url, const LinkOptions& options,
      std::chrono::milliseconds connect_within = std::chrono::milliseconds(0));
  ~NodeLink();
  NodeLink(const NodeLink&) = delete;
  NodeLink& operator=(const NodeLink&) = delete;

  const std::string& url() const { return url_; }
  bool connected() const { return pipes_.load() > 0; }
  // nng may report a pipe's removal without its addition (a pipe closed while it was being
  // added), so pipes are tracked by id, never by counting events.
  static int TrackPipe(std::mutex& mu, std::set<std::uint32_t>& live, nng_pipe pipe, nng_pipe_ev event);
  // Waits until connected or `deadline`; true when connected.
  bool WaitConnected(Deadline deadline) const;
  // Waits until connected and the peer has answered this connection's hello, or `deadline`.
  // From then on a node counts the link as an upstream peer (server.h): a parent that returns
  // before that (and is then stopped, say) could see its new child exit as an orphan.
  bool WaitGreeted(Deadline deadline) const;

  // Sends `request` (ownership passes to the link in every case) and calls `done` once.
  // A request larger than max_message_bytes fails with kInvalidArgument without being sent:
  // the peer would drop the connection rather than read it.
  // `done` may run before CallAsync returns, when the call fails at once.
  void CallAsync(nng_msg* request, Deadline deadline, Callback done);
  // The same for a Request not yet encoded.
  void CallAsync(const Request& request, Deadline deadline, Callback done);

  // Blocking convenience for control operations: encodes, sends, waits, decodes.
  Result<Reply> Call(const Request& request, Deadline deadline);

  // Fails every call in flight with kUnavailable and closes the socket. Idempotent.
  void Close();

  // Stops reconnecting, for a peer that is gone for good (a child left down): nng would
  // otherwise retry its address forever, every few milliseconds, and each attempt spins nng's
  // poller thread. The link stays usable as a link without a connection: calls fail at once
  // with kUnavailable. Idempotent; a no-op once closed.
  void StopDialing();
  // Dials again after StopDialing (a peer started again at the same address), without
  // blocking. A no-op while dialing. Fails only when the link is closed or nng refuses.
  Status Redial();
  // The peer at this address is a new process: drops the dialer (its connection, which may be
  // to the old process and not known dead yet, and any connect attempt still waiting, which
  // after a partition can wait tens of seconds for the kernel's next SYN) and dials at once.
  Status Restart();
  bool dialing() const { return dialing_.load(); }

 private:
  struct Slot;
  NodeLink() = default;
  Slot* Acquire(Status* why);  // nullptr, and why, when no call can start
  void Release(Slot* slot);
  void Finish(Slot* slot, nng_msg* reply, Status status);
  static void OnSlotAio(void* arg);
  static void OnPipeEvent(nng_pipe pipe, nng_pipe_ev event, void* arg);
  static void OnAbortAio(void* arg);
  static void OnHelloAio(void* arg);
  Status StartDialerLocked(std::chrono::milliseconds connect_within);

  std::string url_;
  std::size_t max_message_bytes_ = 0;
  TlsFiles tls_;
  nng_socket socket_ = NNG_SOCKET_INITIALIZER;
  // The dialer is stopped and started only under dial_mu_ with closed_ unset, and Close()
  // takes dial_mu_ before closing the socket: a dialer that starts while its socket is being
  // closed is the nng 1.5 crash the rule for mu_ below avoids. No nng callback takes it.
  std::mutex dial_mu_;
  nng_dialer dialer_ = NNG_DIALER_INITIALIZER;  // guarded by dial_mu_
  std::atomic<bool> dialing_{false};            // written under dial_mu_
  nng_aio* abort_aio_ = nullptr;  // runs the disconnect sweep outside the socket lock
  std::atomic<int> pipes_{0};  // live_pipes_.size(), readable without the lock
  std::mutex pipes_mu_;
  std::set<std::uint32_t> live_pipes_;
  std::atomic<bool> abort_pending_{false};
  // Sends the hello (wire_header.h) on each new connection, outside the pipe callback.
  nng_aio* hello_aio_ = nullptr;
  std::atomic<bool> hello_pending_{false};
  std::atomic<bool> greeted_{false};  // the current connection's hello was answered
  // As in Server: operations start only under mu_ with closed_ unset, because nng 1.5 crashes
  // when one starts while the socket is being closed. closed_ is also read without the lock
  // as a fast-path hint.
  std::atomic<bool> closed_{false};
  std::mutex mu_;
  std::vector<std::unique_ptr<Slot>> slots_;  // only grows; guarded by mu_
  std::vector<Slot*> free_;                   // guarded by mu_
};

}  // namespace arbor
