#include "server.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>
#include <iterator>
#include <span>
#include <thread>

#include <fmt/format.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

#include "arbor/batch.h"
#include "nng_status.h"
#include "tls.h"
#include "wire_header.h"

namespace arbor {

struct Server::Exchange {
  Server* server = nullptr;
  nng_ctx ctx = NNG_CTX_INITIALIZER;
  nng_aio* aio = nullptr;
  bool sending = false;
  std::function<void()> after_sent;
};

namespace {

// Replies are small; a peer that stops reading must not hold a context forever.
constexpr nng_duration kReplySendTimeoutMs = 5000;
// Contexts a new server starts with (see the header: the pool grows with load).
constexpr int kInitialContexts = 4;
// How long a connection may stay silent (no valid message) once the listener is past half its
// bound. A NodeLink sends its hello within a round trip of connecting; 10 s is slack for a
// loaded machine or a slow TLS peer, and short enough that a flood of idle connections clears.
constexpr std::chrono::seconds kSilentGrace(10);

// "tcp://127.0.0.1:0" is resolved to the port the kernel chose, so the parent can dial it.
std::string BoundUrl(nng_listener listener, const std::string& url) {
  if (IsTlsUrl(url)) return url;  // the name in it is what the certificate is checked against
  nng_sockaddr sa;
  if (nng_listener_get_addr(listener, NNG_OPT_LOCADDR, &sa) != 0) return url;
  if (sa.s_family == NNG_AF_INET) {
    char host[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sa.s_in.sa_addr, host, sizeof host);
    return fmt::format("tcp://{}:{}", host, ntohs(sa.s_in.sa_port));
  }
  if (sa.s_family == NNG_AF_INET6) {
    char host[INET6_ADDRSTRLEN];
    inet_ntop(AF_INET6, sa.s_in6.sa_addr, host, sizeof host);
    return fmt::format("tcp://[{}]:{}", host, ntohs(sa.s_in6.sa_port));
  }
  return url;
}

}  // namespace

Result<std::unique_ptr<Server>> Server::Listen(const std::string& url, const LinkOptions& o,
                                               int max_contexts, Handler handler) {
  std::unique_ptr<Server> s(new Server());
  s->handler_ = std::move(handler);
  auto what = fmt::format("listen on {}", url);
  if (int rv = nng_rep0_open(&s->socket_); rv != 0) return FromNng(rv, what);
  // Without a limit a hostile peer could make the node allocate without bound.
  nng_socket_set_size(s->socket_, NNG_OPT_RECVMAXSZ, o.max_message_bytes);
  s->max_connections_ = std::max(2, o.max_connections);
  // ADD_PRE, not ADD_POST: a pipe closed there is refused before the socket uses it.
  nng_pipe_notify(s->socket_, NNG_PIPE_EV_ADD_PRE, &Server::OnPipeEvent, s.get());
  nng_pipe_notify(s->socket_, NNG_PIPE_EV_REM_POST, &Server::OnPipeEvent, s.get());
  s->tls_ = o.tls;
  nng_listener listener;
  if (Status st = s->StartListener(url, &listener); !st.ok()) {
    nng_close(s->socket_);
    return Status(st.code(), fmt::format("{}: {}", what, st.message()));
  }
  s->url_ = BoundUrl(listener, url);
  s->max_contexts_ = std::max(1, max_contexts);
  return s;
}

Status Server::StartListener(const std::string& url, nng_listener* out) {
  int rv = nng_listener_create(out, socket_, url.c_str());
  if (rv != 0) return FromNng(rv, "create the listener");
  if (IsTlsUrl(url)) {
    if (Status st = ConfigureTls(*out, tls_); !st.ok()) {
      nng_listener_close(*out);
      return st;
    }
  }
  if (rv = nng_listener_start(*out, 0); rv != 0) {
    nng_listener_close(*out);
    return FromNng(rv, "start the listener");
  }
  return Status::Ok();
}

Server::ListenerState Server::CheckListener(std::chrono::milliseconds connect_within,
                                            std::chrono::milliseconds admit_within,
                                            const std::atomic<bool>& cancel) {
  const std::uint64_t before = admitted_.load();
  nng_socket probe;
  if (nng_req0_open(&probe) != 0) return ListenerState::kUnknown;
  std::atomic<bool> connected{false};
  nng_pipe_notify(probe, NNG_PIPE_EV_ADD_POST, [](nng_pipe, nng_pipe_ev, void* flag) {
    static_cast<std::atomic<bool>*>(flag)->store(true);
  }, &connected);
  nng_dialer dialer;
  bool dialled = nng_dialer_create(&dialer, probe, url_.c_str()) == 0 &&
                 (!IsTlsUrl(url_) || ConfigureTls(dialer, tls_, UrlHost(url_)).ok()) &&
                 nng_dialer_start(dialer, NNG_FLAG_NONBLOCK) == 0;
  auto wait = [&](std::chrono::milliseconds within, auto done) {
    const auto deadline = std::chrono::steady_clock::now() + within;
    while (!done() && !cancel && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    return done();
  };
  ListenerState state = ListenerState::kUnknown;
  if (dialled && wait(connect_within, [&] { return connected.load(); })) {
    bool admitted = wait(admit_within, [&] { return admitted_.load() != before; });
    if (admitted) {
      state = ListenerState::kWorks;
    } else if (!cancel) {
      state = ListenerState::kBroken;
    }
  }
  nng_close(probe);  // after this no pipe callback runs, so `connected` may go
  return state;
}

Status Server::Start() {
  std::lock_guard lock(mu_);
  for (int i = 0; i < std::min(kInitialContexts, max_contexts_); ++i) {
    if (Status st = AddExchangeLocked(); !st.ok()) return st;
  }
  return Status::Ok();
}

Status Server::AddExchangeLocked() {
  auto ex = std::make_unique<Exchange>();
  ex->server = this;
  if (nng_ctx_open(&ex->ctx, socket_) != 0) return Internal("cannot open a server context");
  if (nng_aio_alloc(&ex->aio, &Server::OnAio, ex.get()) != 0) {
    nng_ctx_close(ex->ctx);
    return Internal("cannot allocate a server context");
  }
  Exchange* raw = ex.get();
  exchanges_.push_back(std::move(ex));
  ++idle_;
  nng_aio_set_timeout(raw->aio, NNG_DURATION_INFINITE);
  nng_ctx_recv(raw->ctx, raw->aio);
  return Status::Ok();
}

Server::~Server() {
  Close();
  for (auto& ex : exchanges_) nng_aio_free(ex->aio);
}

void Server::Close() {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    closed_ = true;
  }
  nng_close(socket_);
  for (auto& ex : exchanges_) nng_aio_stop(ex->aio);
}

// Only our own state changes under pipes_mu_; the pipes to close are closed after it is
// released. Closing this pipe in ADD_PRE refuses it (nng's documented use). Closing another
// one from here is safe too: nng_pipe_close takes that pipe's and the protocol's locks, never
// the socket's (the socket lock is taken later, on nng's reaper thread), so it cannot deadlock
// with whatever nng holds while it runs a callback. connections_test evicts thousands this way.
void Server::OnPipeEvent(nng_pipe pipe, nng_pipe_ev event, void* arg) {
  auto* self = static_cast<Server*>(arg);
  std::uint32_t id = nng_pipe_id(pipe);
  std::vector<std::uint32_t> to_close;
  {
    std::lock_guard lock(self->pipes_mu_);
    if (event == NNG_PIPE_EV_ADD_PRE) {
      self->admitted_.fetch_add(1);
      self->AdmitLocked(id, to_close);
    } else if (auto it = self->pipes_.find(id); it != self->pipes_.end()) {
      // Not found: a pipe AdmitLocked closed, already forgotten.
      if (it->second.valid) self->peers_.store(--self->valid_);
      self->pipes_.erase(it);
    }
    self->connections_.store(static_cast<int>(self->pipes_.size()));
  }
  if (event == NNG_PIPE_EV_REM_POST) {
    std::uint32_t latest = id;
    self->last_sender_.compare_exchange_strong(latest, 0);
  }
  for (std::uint32_t victim : to_close) {
    nng_pipe p = NNG_PIPE_INITIALIZER;
    p.id = victim;
    nng_pipe_close(p);
  }
}

void Server::AdmitLocked(std::uint32_t id, std::vector<std::uint32_t>& to_close) {
  auto now = std::chrono::steady_clock::now();
  auto drop = [&](auto it) {
    to_close.push_back(it->first);
    if (it->second.valid) peers_.store(--valid_);
    return pipes_.erase(it);
  };
  auto max = static_cast<std::size_t>(max_connections_);
  if (2 * (pipes_.size() + 1) > max) {
    for (auto it = pipes_.begin(); it != pipes_.end();) {
      bool silent = !it->second.valid && now - it->second.connected >= kSilentGrace;
      it = silent ? drop(it) : std::next(it);
    }
  }
  if (pipes_.size() >= max) {
    // The one idle longest: a silent one by connection time, else a valid one by its last
    // request. The latest sender is never chosen: it is busy, and most likely the parent.
    std::uint32_t latest = last_sender_.load();
    auto victim = pipes_.end();
    auto older = [&](const Pipe& a, const Pipe& b) {
      if (a.valid != b.valid) return !a.valid;
      return a.valid ? a.last_request < b.last_request : a.connected < b.connected;
    };
    for (auto it = pipes_.begin(); it != pipes_.end(); ++it) {
      if (it->first == latest) continue;
      if (victim == pipes_.end() || older(it->second, victim->second)) victim = it;
    }
    if (victim == pipes_.end()) {  // nothing to evict (cannot happen with max >= 2)
      to_close.push_back(id);
      return;
    }
    drop(victim);
  }
  pipes_.emplace(id, Pipe{now, now, false});
}

void Server::NoteSender(std::uint32_t id, bool valid) {
  auto now = std::chrono::steady_clock::now();
  std::lock_guard lock(pipes_mu_);
  auto it = pipes_.find(id);
  if (it == pipes_.end()) return;  // closed meanwhile
  Pipe& p = it->second;
  if (valid && !p.valid) {
    p.valid = true;
    peers_.store(++valid_);
  }
  if (!p.valid) return;  // a stranger's garbage: it stays evictable
  // The previous sender sent until now; the fast path kept no time for it.
  if (auto prev = pipes_.find(last_sender_.load()); prev != pipes_.end()) {
    prev->second.last_request = now;
  }
  p.last_request = now;
  last_sender_.store(id);
}

void Server::Receive(Exchange* ex) {
  std::lock_guard lock(mu_);
  if (closed_) return;
  ++idle_;
  ex->sending = false;
  nng_aio_set_timeout(ex->aio, NNG_DURATION_INFINITE);
  nng_ctx_recv(ex->ctx, ex->aio);
}

void Server::OnAio(void* arg) {
  auto* ex = static_cast<Exchange*>(arg);
  Server* self = ex->server;
  int rv = nng_aio_result(ex->aio);
  if (ex->sending) {
    if (rv != 0) nng_msg_free(nng_aio_get_msg(ex->aio));  // requester gone: drop the reply
    if (auto after = std::move(ex->after_sent)) after();
    self->Receive(ex);
    return;
  }
  if (rv == NNG_ECLOSED) return;
  // The last idle context is taking a request: open another, so the next one finds a
  // receiver without waiting for a reply. A failure only means no growth this time.
  if (self->idle_.fetch_sub(1) == 1) {
    std::lock_guard lock(self->mu_);
    if (!self->closed_ && static_cast<int>(self->exchanges_.size()) < self->max_contexts_) {
      (void)self->AddExchangeLocked();
    }
  }
  if (rv != 0) {  // a transient receive error: keep the context serving
    self->Receive(ex);
    return;
  }
  nng_msg* msg = nng_aio_get_msg(ex->aio);
  // Per message, so kept cheap: a length compare, and a load and compare of the sender.
  std::span<const std::uint8_t> body(static_cast<const std::uint8_t*>(nng_msg_body(msg)),
                                     nng_msg_len(msg));
  bool hello = body.size() == kHelloBytes && IsHello(body);
  std::uint32_t pipe = nng_pipe_id(nng_msg_get_pipe(msg));
  if (pipe != self->last_sender_.load(std::memory_order_relaxed)) {
    std::optional<std::uint8_t> kind = PeekKind(body);
    bool valid = hello || PeekRequestHeader(body).has_value() || kind == kKindBatch ||
                 kind == kKindCollect;
    self->NoteSender(pipe, valid);
  }
  if (hello) {  // answered here: an empty reply
    nng_msg_clear(msg);
    self->Reply(ex, msg);
    return;
  }
  self->handler_(ex, msg);
}

void Server::Reply(Exchange* ex, nng_msg* reply, std::function<void()> after_sent) {
  std::lock_guard lock(mu_);
  if (closed_) {  // shutting down: the requester's deadline covers the lost reply
    nng_msg_free(reply);
    return;
  }
  ex->sending = true;
  ex->after_sent = std::move(after_sent);
  nng_msg_header_clear(reply);
  nng_aio_set_msg(ex->aio, reply);
  nng_aio_set_timeout(ex->aio, kReplySendTimeoutMs);
  nng_ctx_send(ex->ctx, ex->aio);
}

void Server::Reply(Exchange* ex, const std::string& bytes, std::function<void()> after_sent) {
  nng_msg* msg = nullptr;
  if (nng_msg_alloc(&msg, bytes.size()) != 0) {
    // Out of memory: the requester's deadline will report it; keep serving others.
    Receive(ex);
    return;
  }
  std::memcpy(nng_msg_body(msg), bytes.data(), bytes.size());
  Reply(ex, msg, std::move(after_sent));
}

}  // namespace arbor
