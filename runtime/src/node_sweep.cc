// Node: the tree sweep behind `pingall` and `tree`.
#include <unistd.h>

#include <algorithm>
#include <mutex>

#include "node.h"

namespace arbor {
namespace {

// A sweep waits for whole subtrees, so each level must answer its parent before the parent
// gives up on it. A child counts its budget from when the request reached it, so every hop's
// delay (send, wake-up, reply) comes on top. With a fixed 10 ms per hop, once hops took longer
// than that on a loaded host, every level with a slow or dying node below answered after its
// parent had given up, so a whole path's subtrees went missing, up to the root's children
// (2,000 nodes on 2 cores at the pid limit: pingall called every node unreachable). Measured on
// a chain of 12 with its last node stopped and the tree throttled to 1% of a CPU: up to 9 nodes
// reported unreachable with 10 ms, 1 or 2 with this margin. It is a share of the time left, so
// the top levels, whose subtrees are big, keep tens of milliseconds for their hops; deep in a
// chain it falls back to 10 ms a hop.
constexpr std::uint32_t kSweepHopMarginMs = 10;
constexpr std::uint32_t kSweepHopShare = 32;  // 1/32 of what is left: 62 ms of 2000

std::uint32_t SweepMargin(std::uint32_t left) {
  return std::max(kSweepHopMarginMs, left / kSweepHopShare);
}

}  // namespace

// arbor.sweep: this node's entry followed by the entries of every node below it that answers
// (control.h). Children are asked in parallel and without blocking a thread, so a sweep of the
// whole tree costs about one round trip per level, and a dead or hung subtree costs at most the
// deadline, in parallel with the rest.
void Node::Sweep(Server::Exchange* ex, std::uint64_t request_id, Deadline deadline) {
  struct State {
    std::mutex mu;
    int pending = 1;  // one for this node, released after the children are asked
    std::string entries;
  };
  auto state = std::make_shared<State>();
  state->entries = Encode(SweepEntry{options_.id, getpid(), options_.host, children_->Report()});
  Server* server = server_.get();
  auto release = [server, ex, request_id, state] {
    std::string entries;
    {
      std::lock_guard lock(state->mu);
      if (--state->pending > 0) return;
      entries = std::move(state->entries);
    }
    Reply reply;
    reply.id = request_id;
    reply.results.push_back({Status::Ok(), std::move(entries)});
    server->Reply(ex, EncodeReply(reply));
  };
  std::uint32_t left = RemainingMs(deadline);
  const std::uint32_t margin = SweepMargin(left);
  for (auto& [id, link] : children_->Connected()) {
    if (left <= margin) break;
    Request q;
    q.id = request_id;
    q.target = id;
    q.budget_ms = left - margin;
    q.ops.push_back({std::string(kSweepVerb), {}});
    {
      std::lock_guard lock(state->mu);
      ++state->pending;
    }
    link->CallAsync(q, DeadlineIn(std::chrono::milliseconds(q.budget_ms)),
                    [state, release](nng_msg* reply, Status) {
      if (reply != nullptr) {
        auto r = DecodeReply({static_cast<const std::uint8_t*>(nng_msg_body(reply)), nng_msg_len(reply)});
        nng_msg_free(reply);
        // Entries are self-delimiting: a child's reply is appended whole, and decoded once,
        // by the controller.
        if (r.ok() && r->route.ok() && r->results.size() == 1 && r->results[0].status.ok()) {
          std::lock_guard lock(state->mu);
          state->entries += r->results[0].text;
        }
      }
      release();
    });
  }
  release();
}

}  // namespace arbor
