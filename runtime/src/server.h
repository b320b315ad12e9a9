// Server: the replying end of a hop, a rep socket listening on the node's endpoint.
//
// It keeps a pool of nng contexts, each receiving one request at a time, so up to
// `max_contexts` requests are in progress at once. The pool starts small and grows by one
// whenever the last idle context takes a request: an idle node (most of a big tree) keeps a
// few contexts, and a busy one gets as many as its load needs. A request is handed to the
// handler together with its Exchange; the handler answers later, from any thread, with
// Reply(). Until then the Exchange is busy and its context receives nothing else.
//
// Connections are bounded (LinkOptions::max_connections), so that peers which connect and then
// idle cannot use up the node's file descriptors. Each connection is tracked from the moment
// nng offers it (NNG_PIPE_EV_ADD_PRE, where closing it refuses it) with the time it connected
// and whether it has sent a valid message (a request, or the hello every NodeLink sends first).
// The policy, chosen to be simple and to let the parent back in whatever strangers do:
// - At the bound, a new connection is always let in, and makes room by closing the connection
//   that has idled longest: first among those that never sent a valid message (oldest first),
//   else the valid one whose last request is oldest, never the latest sender. Refusing the
//   newcomer instead would lock out a parent that redials after a restart.
// - Past half the bound, connections that sent nothing valid within kSilentGrace (10 s) of
//   connecting are closed when the next one arrives. Checked on arrival, not on a timer: the
//   count grows only then, so that is enough to keep it bounded, and costs no thread.
// Only connections that sent something valid count as peers(), the upstream peers of the
// orphan rule: a stranger holding a connection must not keep an orphaned node alive.
//
// Thread-safety: Reply() may be called from any thread, once per request.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <nng/nng.h>

#include "arbor/node_link.h"
#include "arbor/result.h"

namespace arbor {

class Server {
 public:
  struct Exchange;
  // Owns `request` from here on.
  using Handler = std::function<void(Exchange* exchange, nng_msg* request)>;

  // Listens, but receives nothing until Start(): the owner must be able to store the Server
  // before its handler can run.
  static Result<std::unique_ptr<Server>> Listen(const std::string& url, const LinkOptions& options,
                                                int max_contexts, Handler handler);
  // Starts the first contexts receiving. Call once.
  Status Start();
  ~Server();

  const std::string& url() const { return url_; }  // tcp port 0 resolved
  // Connections that sent a valid message (see above): the upstream peers.
  int peers() const { return peers_.load(); }
  int connections() const { return connections_.load(); }  // all of them

  // Sends `reply` (ownership passes to the server) for the request held by `exchange`, then
  // runs `after_sent` (if any) once the send has completed or failed.
  void Reply(Exchange* exchange, nng_msg* reply, std::function<void()> after_sent = {});
  void Reply(Exchange* exchange, const std::string& bytes, std::function<void()> after_sent = {});

  void Close();

  // nng 1.5.2 (nanomsg/nng#1518, fixed in 1.6): when a connection closes while its handshake
  // is under way, the listener stops handing new connections to the socket, for good, while
  // the transport still completes their handshakes: the peer believes it is connected, and its
  // requests go nowhere. A paused node meets this as soon as it resumes, when the peers that
  // gave up on it meanwhile have closed their connections in its backlog; so can any node a
  // dying peer was connecting to. Nor can the listener be replaced: the broken one keeps its
  // address.
  //
  // CheckListener() dials this server, with no hello (it must not count as a parent), waits up
  // to `connect_within` for its own handshake to finish (it never closes one half done: that is
  // what breaks a listener), then up to `admit_within` for the socket to see the connection.
  // kUnknown when the probe could not connect in time (a loaded machine), or `cancel` was set.
  enum class ListenerState { kWorks, kBroken, kUnknown };
  ListenerState CheckListener(std::chrono::milliseconds connect_within,
                              std::chrono::milliseconds admit_within,
                              const std::atomic<bool>& cancel);

 private:
  Server() = default;
  static void OnAio(void* arg);
  static void OnPipeEvent(nng_pipe pipe, nng_pipe_ev event, void* arg);
  // Lets `pipe` in under the policy above; the pipes to close (maybe `pipe` itself) go to `out`.
  void AdmitLocked(std::uint32_t pipe, std::vector<std::uint32_t>& out);
  // A message arrived on a pipe other than the latest sender: notes it, under pipes_mu_.
  void NoteSender(std::uint32_t pipe, bool valid);
  void Receive(Exchange* exchange);
  // Opens one more context and starts it receiving. Runs under mu_.
  Status AddExchangeLocked();

  // Makes and starts a listener on `url` (TLS set first when it is a tls+tcp one).
  Status StartListener(const std::string& url, nng_listener* out);

  std::string url_;
  nng_socket socket_ = NNG_SOCKET_INITIALIZER;
  TlsFiles tls_;
  std::atomic<std::uint64_t> admitted_{0};  // connections that reached the socket
  Handler handler_;
  std::vector<std::unique_ptr<Exchange>> exchanges_;
  struct Pipe {
    std::chrono::steady_clock::time_point connected, last_request;
    bool valid = false;  // sent a request or a hello
  };
  int max_connections_ = 64;
  std::mutex pipes_mu_;  // taken by pipe events, and by a message from another sender
  std::unordered_map<std::uint32_t, Pipe> pipes_;  // guarded by pipes_mu_
  std::atomic<int> connections_{0};                // pipes_.size()
  int valid_ = 0;                                  // guarded by pipes_mu_
  std::atomic<int> peers_{0};                      // valid_, readable without the lock
  // The pipe of the latest valid message. The parent sends nearly every request, so a message
  // from it costs one atomic load and compare; only a change of sender takes pipes_mu_.
  std::atomic<std::uint32_t> last_sender_{0};
  // nng 1.5 crashes when a context operation starts while its socket is being closed. Every
  // start checks closed_ under mu_, and Close() sets it under mu_ before nng_close.
  std::mutex mu_;
  bool closed_ = false;
  int max_contexts_ = 0;
  // Contexts waiting for a request. Atomic, so taking a request costs no lock; growing
  // (rare) takes mu_.
  std::atomic<int> idle_{0};
};

}  // namespace arbor
