#include "nng_baseline.h"

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <random>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>

extern char** environ;

namespace arbor::bench {
namespace {

constexpr int kServerContexts = 128;

void Check(int rv, const char* what) {
  if (rv != 0) {
    fmt::print(stderr, "{}: {}\n", what, nng_strerror(rv));
    std::exit(1);
  }
}

std::string Url(const std::string& tag, int i) {
  return fmt::format("abstract://arbor-bench/{}/{}/{}", getpid(), tag, i);
}

pid_t Spawn(std::vector<std::string> args) {
  std::string self = std::filesystem::read_symlink("/proc/self/exe").string();
  args.insert(args.begin(), self);
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  pid_t pid;
  if (posix_spawn(&pid, self.c_str(), nullptr, nullptr, argv.data(), environ) != 0) std::exit(1);
  return pid;
}

// One echo context: receive, send the same message back, repeat.
struct EchoCtx {
  nng_ctx ctx;
  nng_aio* aio;
  bool sending = false;
};

void EchoCallback(void* arg) {
  auto* e = static_cast<EchoCtx*>(arg);
  if (nng_aio_result(e->aio) != 0) {
    if (e->sending) nng_msg_free(nng_aio_get_msg(e->aio));
    return;
  }
  if (e->sending) {
    e->sending = false;
    nng_ctx_recv(e->ctx, e->aio);
  } else {
    e->sending = true;
    nng_ctx_send(e->ctx, e->aio);  // the received message goes straight back
  }
}

}  // namespace

int ServeEcho(const std::string& url) {
  nng_socket s;
  Check(nng_rep0_open(&s), "rep");
  Check(nng_listen(s, url.c_str(), nullptr, 0), "listen");
  std::vector<EchoCtx> ctxs(kServerContexts);
  for (auto& e : ctxs) {
    nng_ctx_open(&e.ctx, s);
    nng_aio_alloc(&e.aio, EchoCallback, &e);
    nng_ctx_recv(e.ctx, e.aio);
  }
  pause();
  return 0;
}

// The simplest forwarder: receive, re-send downstream, wait, reply. One request at a time.
int ServeForward(const std::string& in, const std::string& out) {
  nng_socket up, down;
  Check(nng_rep0_open(&up), "rep");
  Check(nng_req0_open(&down), "req");
  nng_socket_set_ms(down, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
  Check(nng_listen(up, in.c_str(), nullptr, 0), "listen");
  Check(nng_dial(down, out.c_str(), nullptr, NNG_FLAG_NONBLOCK), "dial");
  for (;;) {
    nng_msg* m;
    if (nng_recvmsg(up, &m, 0) != 0) continue;
    if (nng_sendmsg(down, m, 0) != 0) continue;
    if (nng_recvmsg(down, &m, 0) != 0) continue;
    nng_sendmsg(up, m, 0);
  }
}

Figures MeasureNngChain(int depth, int inflight, int count, int payload_bytes) {
  static int run = 0;
  std::string tag = std::to_string(run++);
  std::vector<pid_t> children;
  // Last hop first, so every dial finds its peer listening soon.
  children.push_back(Spawn({"serve-echo", Url(tag, depth - 1)}));
  for (int i = depth - 2; i >= 0; --i) {
    children.push_back(Spawn({"serve-forward", Url(tag, i), Url(tag, i + 1)}));
  }
  nng_socket s;
  Check(nng_req0_open(&s), "req");
  nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, NNG_DURATION_INFINITE);
  Check(nng_dial(s, Url(tag, 0).c_str(), nullptr, NNG_FLAG_NONBLOCK), "dial");
  std::vector<char> payload(payload_bytes, 'x');
  // Warm up until a round trip succeeds: every hop is connected.
  for (;;) {
    nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 200);
    if (nng_send(s, payload.data(), payload.size(), 0) == 0) {
      char* buf;
      size_t len;
      if (nng_recv(s, &buf, &len, NNG_FLAG_ALLOC) == 0) {
        nng_free(buf, len);
        break;
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, NNG_DURATION_INFINITE);

  std::vector<double> samples;
  samples.reserve(count);
  auto start = Clock::now();
  if (inflight <= 1) {
    for (int i = 0; i < count; ++i) {
      auto t0 = Clock::now();
      nng_send(s, payload.data(), payload.size(), 0);
      char* buf;
      size_t len;
      nng_recv(s, &buf, &len, NNG_FLAG_ALLOC);
      nng_free(buf, len);
      samples.push_back(std::chrono::duration<double, std::micro>(Clock::now() - t0).count());
    }
  } else {
    // Contexts with aio callbacks, each re-sending as soon as its reply lands.
    struct Shared {
      std::mutex mu;
      std::condition_variable cv;
      std::vector<double>* samples;
      std::atomic<int> to_send;  // requests not yet sent beyond the first `inflight`
      std::atomic<int> running;  // clients still sending
      const std::vector<char>* payload;
    };
    struct Client {
      nng_ctx ctx;
      nng_aio* aio;
      bool sending = false;
      Clock::time_point t0;
      Shared* shared;
    };
    static auto send = +[](Client& c) {
      nng_msg* m;
      nng_msg_alloc(&m, 0);
      nng_msg_append(m, c.shared->payload->data(), c.shared->payload->size());
      c.sending = true;
      c.t0 = Clock::now();
      nng_aio_set_msg(c.aio, m);
      nng_ctx_send(c.ctx, c.aio);
    };
    auto on_aio = +[](void* arg) {
      auto* c = static_cast<Client*>(arg);
      Shared& sh = *c->shared;
      if (c->sending) {
        c->sending = false;
        nng_ctx_recv(c->ctx, c->aio);
        return;
      }
      nng_msg_free(nng_aio_get_msg(c->aio));
      double us = std::chrono::duration<double, std::micro>(Clock::now() - c->t0).count();
      {
        std::lock_guard lock(sh.mu);
        sh.samples->push_back(us);
      }
      if (sh.to_send.fetch_sub(1) > 0) return send(*c);
      if (sh.running.fetch_sub(1) == 1) {
        std::lock_guard lock(sh.mu);
        sh.cv.notify_one();
      }
    };
    Shared sh;
    sh.samples = &samples;
    sh.to_send = count - inflight;
    sh.running = inflight;
    sh.payload = &payload;
    std::vector<Client> clients(inflight);
    for (auto& c : clients) {
      c.shared = &sh;
      nng_ctx_open(&c.ctx, s);
      nng_aio_alloc(&c.aio, on_aio, &c);
    }
    for (auto& c : clients) send(c);
    std::unique_lock lock(sh.mu);
    sh.cv.wait(lock, [&] { return sh.running.load() == 0; });
    lock.unlock();
    for (auto& c : clients) nng_aio_free(c.aio);
  }
  auto wall = Clock::now() - start;
  nng_close(s);
  for (pid_t p : children) kill(p, SIGKILL);
  for (pid_t p : children) waitpid(p, nullptr, 0);
  return Summarise(std::move(samples), wall);
}

}  // namespace arbor::bench
