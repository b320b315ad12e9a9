// Server: the replying end of a hop, a rep socket listening on the node's endpoint.
//
// It keeps a pool of nng contexts, each receiving one request at a time, so up to
// `max_contexts` requests are in progress at once. The pool starts small and grows by one
// whenever the last idle context takes a request: an idle node (most of a big tree) keeps a
// few contexts, and a busy one gets as many as its load needs. A request is handed to the
// handler together with its Exchange; the handler answers later, from any thread, with
// Reply(). Until then the Exchange is busy and its context receives nothing else.
//
// Thread-safety: Reply() may be called from any thread, once per request.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
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
  int peers() const { return pipes_.load(); }

  // Sends `reply` (ownership passes to the server) for the request held by `exchange`, then
  // runs `after_sent` (if any) once the send has completed or failed.
  void Reply(Exchange* exchange, nng_msg* reply, std::function<void()> after_sent = {});
  void Reply(Exchange* exchange, const std::string& bytes, std::function<void()> after_sent = {});

  void Close();

 private:
  Server() = default;
  static void OnAio(void* arg);
  static void OnPipeEvent(nng_pipe pipe, nng_pipe_ev event, void* arg);
  void Receive(Exchange* exchange);
  // Opens one more context and starts it receiving. Runs under mu_.
  Status AddExchangeLocked();

  std::string url_;
  nng_socket socket_ = NNG_SOCKET_INITIALIZER;
  Handler handler_;
  std::vector<std::unique_ptr<Exchange>> exchanges_;
  std::atomic<int> pipes_{0};  // live_pipes_.size()
  std::mutex pipes_mu_;
  std::set<std::uint32_t> live_pipes_;
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
