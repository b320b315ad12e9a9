#include "arbor/node_link.h"

#include <condition_variable>
#include <cstring>
#include <thread>

#include <fmt/format.h>
#include <nng/protocol/reqrep0/req.h>

#include "arbor/worker_pool.h"
#include "nng_status.h"
#include "tls.h"
#include "wire_header.h"

namespace arbor {

// One in-flight call: a req context and its aio, reused across calls.
struct NodeLink::Slot {
  NodeLink* link = nullptr;
  nng_ctx ctx = NNG_CTX_INITIALIZER;
  nng_aio* aio = nullptr;
  enum class Phase { kIdle, kSending, kReceiving } phase = Phase::kIdle;
  Deadline deadline;
  Callback done;
};

namespace {
// A link refuses calls beyond this many in flight rather than grow without bound.
constexpr std::size_t kMaxSlots = 8192;

nng_duration Ms(Deadline d) { return static_cast<nng_duration>(RemainingMs(d)); }
}  // namespace

namespace {

// nng_dialer_start(0) blocks until connected or refused, with no time limit of its own: a
// host that drops packets would hold it for the kernel's connect timeout (minutes). A watchdog
// closes the dialer when `within` is up, which ends the wait with NNG_ECLOSED.
int StartWithin(nng_dialer dialer, std::chrono::milliseconds within, bool* timed_out) {
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  std::thread watchdog;
  Status started = StartThread(watchdog, [&] {
    std::unique_lock lock(mu);
    if (!cv.wait_for(lock, within, [&] { return done; })) {
      *timed_out = true;
      nng_dialer_close(dialer);
    }
  });
  // No thread to spare (the host is out of tasks): dial without blocking, as for a reconnect.
  // The caller's WaitConnected() then bounds the wait; only the refusal's reason is lost.
  if (!started.ok()) return nng_dialer_start(dialer, NNG_FLAG_NONBLOCK);
  int rv = nng_dialer_start(dialer, 0);
  {
    std::lock_guard lock(mu);
    done = true;
  }
  cv.notify_all();
  watchdog.join();
  return rv;
}

}  // namespace

Result<std::unique_ptr<NodeLink>> NodeLink::Dial(const std::string& url, const LinkOptions& o,
                                                 std::chrono::milliseconds connect_within) {
  std::unique_ptr<NodeLink> link(new NodeLink());
  link->url_ = url;
  link->max_message_bytes_ = o.max_message_bytes;
  auto what = [&](const char* step) { return fmt::format("{} {}", step, url); };
  if (int rv = nng_req0_open(&link->socket_); rv != 0) return FromNng(rv, what("open req for"));
  // Resend must be off before any context opens: contexts copy it. With it off, a call in
  // flight to a peer that dies fails with ECONNRESET at once instead of waiting to resend.
  // Each of these can fail only for want of memory; a link without one of them would break
  // quietly (no pipe events: never "connected"), so each failure is the dial's.
  for (int rv : {nng_socket_set_ms(link->socket_, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE),
                 nng_socket_set_size(link->socket_, NNG_OPT_RECVMAXSZ, o.max_message_bytes),
                 nng_socket_set_ms(link->socket_, NNG_OPT_RECONNMINT, o.reconnect_min_ms),
                 nng_socket_set_ms(link->socket_, NNG_OPT_RECONNMAXT, o.reconnect_max_ms),
                 nng_pipe_notify(link->socket_, NNG_PIPE_EV_ADD_POST, &NodeLink::OnPipeEvent,
                                 link.get()),
                 nng_pipe_notify(link->socket_, NNG_PIPE_EV_REM_POST, &NodeLink::OnPipeEvent,
                                 link.get()),
                 nng_aio_alloc(&link->abort_aio_, &NodeLink::OnAbortAio, link.get())}) {
    if (rv != 0) return FromNng(rv, what("set up the link to"));
  }
  if (int rv = nng_aio_alloc(&link->hello_aio_, &NodeLink::OnHelloAio, link.get()); rv != 0) {
    return FromNng(rv, what("allocate for"));
  }
  link->tls_ = o.tls;
  std::lock_guard dial(link->dial_mu_);
  if (Status s = link->StartDialerLocked(connect_within); !s.ok()) return s;
  return link;
}

// dial_mu_ held. Creates and starts the dialer: blocking up to `connect_within` when above zero.
Status NodeLink::StartDialerLocked(std::chrono::milliseconds connect_within) {
  auto what = [&](const char* step) { return fmt::format("{} {}", step, url_); };
  nng_dialer dialer;
  if (int rv = nng_dialer_create(&dialer, socket_, url_.c_str()); rv != 0) {
    return FromNng(rv, what("dial"));
  }
  if (IsTlsUrl(url_)) {
    if (Status s = ConfigureTls(dialer, tls_, UrlHost(url_)); !s.ok()) {
      nng_dialer_close(dialer);
      return Status(s.code(), fmt::format("dial {}: {}", url_, s.message()));
    }
  }
  bool timed_out = false;
  int rv = connect_within.count() > 0 ? StartWithin(dialer, connect_within, &timed_out)
                                      : nng_dialer_start(dialer, NNG_FLAG_NONBLOCK);
  if (timed_out) {  // the watchdog closed the dialer
    return Unavailable(fmt::format("dial {}: no answer within {} ms", url_, connect_within.count()));
  }
  if (rv != 0) {
    nng_dialer_close(dialer);
    if (IsTlsUrl(url_)) return Unavailable(fmt::format("dial {}: {}", url_, TlsDialError(rv)));
    return FromNng(rv, what("dial"));
  }
  dialer_ = dialer;
  dialing_ = true;
  return Status::Ok();
}

void NodeLink::StopDialing() {
  std::lock_guard dial(dial_mu_);
  if (closed_ || !dialing_) return;
  dialing_ = false;
  nng_dialer_close(dialer_);  // also cancels the pending reconnect timer
}

Status NodeLink::Redial() {
  std::lock_guard dial(dial_mu_);
  if (closed_) return Unavailable(fmt::format("link to {} closed", url_));
  if (dialing_) return Status::Ok();
  return StartDialerLocked(std::chrono::milliseconds(0));
}

Status NodeLink::Restart() {
  std::lock_guard dial(dial_mu_);
  if (closed_) return Unavailable(fmt::format("link to {} closed", url_));
  if (dialing_) nng_dialer_close(dialer_);
  dialing_ = false;
  return StartDialerLocked(std::chrono::milliseconds(0));
}

NodeLink::~NodeLink() {
  Close();
  for (auto& s : slots_) nng_aio_free(s->aio);
  if (abort_aio_ != nullptr) nng_aio_free(abort_aio_);
  if (hello_aio_ != nullptr) nng_aio_free(hello_aio_);
}

void NodeLink::Close() {
  std::vector<Slot*> all;
  {
    std::lock_guard lock(mu_);
    if (closed_.exchange(true)) return;
    for (auto& s : slots_) all.push_back(s.get());
  }
  {
    // A StopDialing() or Redial() under way finishes before the socket closes.
    std::lock_guard dial(dial_mu_);
    dialing_ = false;
  }
  nng_close(socket_);  // every pending aio completes with NNG_ECLOSED
  for (Slot* s : all) nng_aio_stop(s->aio);  // wait for their callbacks to finish
  if (abort_aio_ != nullptr) nng_aio_stop(abort_aio_);
  if (hello_aio_ != nullptr) nng_aio_stop(hello_aio_);
}

bool NodeLink::WaitGreeted(Deadline deadline) const {
  while (!connected() || !greeted_) {
    if (Clock::now() >= deadline || closed_) return false;
    std::this_thread::sleep_for(std::chrono::microseconds(100));  // one local round trip
  }
  return true;
}

bool NodeLink::WaitConnected(Deadline deadline) const {
  while (!connected()) {
    if (Clock::now() >= deadline || closed_) return false;
    // A local connect takes microseconds; every node creation waits here once.
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
  return true;
}

int NodeLink::TrackPipe(std::mutex& mu, std::set<std::uint32_t>& live, nng_pipe pipe,
                        nng_pipe_ev event) {
  std::lock_guard lock(mu);
  std::uint32_t id = nng_pipe_id(pipe);
  if (event == NNG_PIPE_EV_ADD_POST) {
    live.insert(id);
  } else {
    live.erase(id);
  }
  return static_cast<int>(live.size());
}

void NodeLink::OnPipeEvent(nng_pipe pipe, nng_pipe_ev event, void* arg) {
  // Runs with the socket lock held: only update the set and schedule work here.
  auto* self = static_cast<NodeLink*>(arg);
  int live = TrackPipe(self->pipes_mu_, self->live_pipes_, pipe, event);
  self->pipes_.store(live);
  if (event == NNG_PIPE_EV_ADD_POST) self->greeted_ = false;
  if (event == NNG_PIPE_EV_ADD_POST && !self->closed_ && !self->hello_pending_.exchange(true)) {
    nng_sleep_aio(0, self->hello_aio_);
  }
  if (event == NNG_PIPE_EV_REM_POST && live == 0 && !self->closed_ &&
      !self->abort_pending_.exchange(true)) {
    nng_sleep_aio(0, self->abort_aio_);
  }
}

// The peer lost its last connection. Calls still waiting to be sent would wait for their whole
// deadline (nng queues them until a pipe appears); fail them now instead.
void NodeLink::OnAbortAio(void* arg) {
  auto* self = static_cast<NodeLink*>(arg);
  self->abort_pending_ = false;
  if (self->connected()) return;
  std::vector<nng_aio*> sending;
  {
    std::lock_guard lock(self->mu_);
    for (auto& s : self->slots_) {
      if (s->phase == Slot::Phase::kSending) sending.push_back(s->aio);
    }
  }
  // Outside the lock: an abort may complete the call, whose callback takes mu_. A slot reused
  // meanwhile is a call to the same dead peer, so failing it too is right.
  for (nng_aio* aio : sending) nng_aio_abort(aio, NNG_ECONNRESET);
}

// A new connection: say hello on it, so that the server counts it as a peer of the tree and
// does not close it as an idle stranger (server.h). A link has one connection at a time, so
// the hello goes on the new one. Its empty reply is dropped; a hello that fails (the peer
// died meanwhile) needs nothing: the next connection sends its own.
void NodeLink::OnHelloAio(void* arg) {
  auto* self = static_cast<NodeLink*>(arg);
  self->hello_pending_ = false;
  if (self->closed_) return;
  nng_msg* msg = nullptr;
  if (nng_msg_alloc(&msg, kHelloBytes) != 0) return;
  WriteHello(static_cast<std::uint8_t*>(nng_msg_body(msg)));
  Deadline deadline = DeadlineIn(std::chrono::milliseconds(5000));
  self->CallAsync(msg, deadline, [self](nng_msg* reply, Status) {
    if (reply == nullptr) return;
    nng_msg_free(reply);
    self->greeted_ = true;
  });
}

NodeLink::Slot* NodeLink::Acquire(Status* why) {
  std::lock_guard lock(mu_);
  if (!free_.empty()) {
    Slot* s = free_.back();
    free_.pop_back();
    return s;
  }
  if (slots_.size() >= kMaxSlots) {
    *why = Unavailable(fmt::format("too many calls in flight to {}", url_));
    return nullptr;
  }
  auto s = std::make_unique<Slot>();
  s->link = this;
  if (int rv = nng_ctx_open(&s->ctx, socket_); rv != 0) {
    *why = FromNng(rv, fmt::format("open a context to {}", url_));
    return nullptr;
  }
  if (int rv = nng_aio_alloc(&s->aio, &NodeLink::OnSlotAio, s.get()); rv != 0) {
    nng_ctx_close(s->ctx);
    *why = FromNng(rv, fmt::format("allocate a call to {}", url_));
    return nullptr;
  }
  slots_.push_back(std::move(s));
  return slots_.back().get();
}

void NodeLink::Release(Slot* slot) {
  std::lock_guard lock(mu_);
  slot->phase = Slot::Phase::kIdle;
  free_.push_back(slot);
}

void NodeLink::Finish(Slot* slot, nng_msg* reply, Status status) {
  Callback done = std::move(slot->done);
  Release(slot);
  done(reply, std::move(status));
}

void NodeLink::CallAsync(nng_msg* request, Deadline deadline, Callback done) {
  if (closed_ || !connected()) {
    nng_msg_free(request);
    done(nullptr, Unavailable(fmt::format("no connection to {}", url_)));
    return;
  }
  if (std::size_t n = nng_msg_len(request); n > max_message_bytes_) {
    nng_msg_free(request);
    done(nullptr, InvalidArgument(fmt::format("request of {} bytes exceeds max_message_bytes ({})",
                                              n, max_message_bytes_)));
    return;
  }
  Status why;
  Slot* slot = Acquire(&why);
  if (slot == nullptr) {
    nng_msg_free(request);
    done(nullptr, std::move(why));
    return;
  }
  slot->done = std::move(done);
  slot->deadline = deadline;
  std::unique_lock lock(mu_);
  if (closed_) {
    lock.unlock();
    nng_msg_free(request);
    return Finish(slot, nullptr, Unavailable(fmt::format("link to {} closed", url_)));
  }
  nng_msg_header_clear(request);
  nng_aio_set_msg(slot->aio, request);
  // A context ignores socket timeouts: every operation needs its own.
  nng_aio_set_timeout(slot->aio, Ms(deadline));
  slot->phase = Slot::Phase::kSending;
  nng_ctx_send(slot->ctx, slot->aio);
}

void NodeLink::OnSlotAio(void* arg) {
  auto* slot = static_cast<Slot*>(arg);
  NodeLink* self = slot->link;
  int rv = nng_aio_result(slot->aio);
  if (slot->phase == Slot::Phase::kSending) {
    if (rv != 0) {
      nng_msg_free(nng_aio_get_msg(slot->aio));  // on failure the message is still ours
      self->Finish(slot, nullptr, FromNng(rv, fmt::format("send to {}", self->url_)));
      return;
    }
    std::unique_lock lock(self->mu_);
    if (self->closed_) {
      lock.unlock();
      return self->Finish(slot, nullptr, Unavailable(fmt::format("link to {} closed", self->url_)));
    }
    slot->phase = Slot::Phase::kReceiving;
    nng_aio_set_timeout(slot->aio, Ms(slot->deadline));
    nng_ctx_recv(slot->ctx, slot->aio);
    return;
  }
  if (rv != 0) {
    self->Finish(slot, nullptr, FromNng(rv, fmt::format("reply from {}", self->url_)));
    return;
  }
  self->Finish(slot, nng_aio_get_msg(slot->aio), Status::Ok());
}

void NodeLink::CallAsync(const Request& request, Deadline deadline, Callback done) {
  std::string bytes = EncodeRequest(request);
  nng_msg* msg = nullptr;
  if (int rv = nng_msg_alloc(&msg, bytes.size()); rv != 0) {
    return done(nullptr, FromNng(rv, "allocate message"));
  }
  std::memcpy(nng_msg_body(msg), bytes.data(), bytes.size());
  CallAsync(msg, deadline, std::move(done));
}

Result<Reply> NodeLink::Call(const Request& request, Deadline deadline) {
  std::mutex mu;
  std::condition_variable cv;
  bool finished = false;
  Result<Reply> out = Unavailable("no reply");
  CallAsync(request, deadline, [&](nng_msg* reply, Status status) {
    Result<Reply> r = Unavailable("no reply");
    if (reply == nullptr) {
      r = std::move(status);
    } else {
      auto* body = static_cast<const std::uint8_t*>(nng_msg_body(reply));
      r = DecodeReply({body, nng_msg_len(reply)});
      nng_msg_free(reply);
    }
    std::lock_guard lock(mu);
    out = std::move(r);
    finished = true;
    cv.notify_one();
  });
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return finished; });
  return out;
}

}  // namespace arbor
