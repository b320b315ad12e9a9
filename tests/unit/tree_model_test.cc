// The controller's tree model (BST insertion, subtree removal) and the one-hop routing rule,
// checked against each other: descending with RouteStep must follow the model's parent links.
#include <algorithm>
#include <cstdint>
#include <limits>
#include <random>
#include <vector>

#include <catch2/catch.hpp>

#include "routing.h"
#include "tree_model.h"

namespace arbor::controller {
namespace {

using Ids = std::vector<NodeId>;

TreeModel Build(const Ids& order) {
  TreeModel t;
  pid_t pid = 1000;
  for (NodeId id : order) t.Insert(id, pid++);
  return t;
}

const TreeModel::Entry& At(const TreeModel& t, NodeId id) {
  const TreeModel::Entry* e = t.Find(id);
  INFO("node " << id);
  REQUIRE(e != nullptr);
  return *e;
}

// Checks parent, left and right of `id` exactly.
void Shape(const TreeModel& t, NodeId id, std::optional<NodeId> parent, std::optional<NodeId> left,
           std::optional<NodeId> right) {
  const TreeModel::Entry& e = At(t, id);
  INFO("node " << id);
  CHECK(e.parent == parent);
  CHECK(e.left == left);
  CHECK(e.right == right);
}

constexpr std::nullopt_t kNone = std::nullopt;

TEST_CASE("tree: an empty model") {
  TreeModel t;
  CHECK(t.empty());
  CHECK_FALSE(t.root().has_value());
  CHECK_FALSE(t.InsertionParent(5).has_value());
  CHECK(t.Find(5) == nullptr);
  CHECK_FALSE(t.Contains(5));
  CHECK(t.Ids().empty());
  CHECK(t.Subtree(5).empty());
  CHECK(t.RemoveSubtree(5).empty());
}

TEST_CASE("tree: BST insertion shape") {
  TreeModel t = Build({50, 30, 70, 20, 40, 60, 80});
  REQUIRE(t.root() == NodeId{50});
  Shape(t, 50, kNone, 30, 70);
  Shape(t, 30, 50, 20, 40);
  Shape(t, 70, 50, 60, 80);
  Shape(t, 20, 30, kNone, kNone);
  Shape(t, 40, 30, kNone, kNone);
  Shape(t, 60, 70, kNone, kNone);
  Shape(t, 80, 70, kNone, kNone);
  CHECK(At(t, 50).pid == 1000);
  CHECK(At(t, 80).pid == 1006);
  CHECK(t.Ids() == Ids{20, 30, 40, 50, 60, 70, 80});
  CHECK_FALSE(t.empty());
  CHECK(t.Contains(40));
  CHECK_FALSE(t.Contains(45));
}

TEST_CASE("tree: InsertionParent is where the next id lands") {
  TreeModel t = Build({50, 30, 70, 20, 40, 60, 80});
  CHECK(t.InsertionParent(10) == NodeId{20});
  CHECK(t.InsertionParent(25) == NodeId{20});
  CHECK(t.InsertionParent(35) == NodeId{40});
  CHECK(t.InsertionParent(45) == NodeId{40});
  CHECK(t.InsertionParent(55) == NodeId{60});
  CHECK(t.InsertionParent(65) == NodeId{60});
  CHECK(t.InsertionParent(75) == NodeId{80});
  CHECK(t.InsertionParent(99) == NodeId{80});
  CHECK(t.InsertionParent(INT64_MIN) == NodeId{20});
  CHECK(t.InsertionParent(INT64_MAX) == NodeId{80});

  t.Insert(45, 7);
  Shape(t, 45, 40, kNone, kNone);
  Shape(t, 40, 30, kNone, 45);
  t.Insert(35, 8);
  Shape(t, 40, 30, 35, 45);
}

TEST_CASE("tree: SlotFor names the side of the parent, the root, or nothing") {
  TreeModel empty;
  auto root = empty.SlotFor(5);
  REQUIRE(root);
  CHECK_FALSE(root->parent);
  TreeModel t = Build({50, 30, 70});
  auto left = t.SlotFor(10);
  auto right = t.SlotFor(40);
  REQUIRE(left);
  REQUIRE(right);
  CHECK(left->parent == NodeId{30});
  CHECK(left->left);
  CHECK(right->parent == NodeId{30});
  CHECK_FALSE(right->left);
  CHECK((*left < *right || *right < *left));  // different slots
  CHECK_FALSE(t.SlotFor(70));                  // exists
}

// The scheduler runs creates concurrently when their slots differ; that is only sound if two
// such inserts give the same tree in either order. Checked on random trees and ids.
TEST_CASE("tree: inserts into different slots commute; into the same slot they do not") {
  std::mt19937_64 rng(11);
  int commuting = 0, conflicting = 0;
  for (int round = 0; round < 300; ++round) {
    std::vector<NodeId> ids;
    for (int i = 0; i < 12; ++i) ids.push_back(static_cast<NodeId>(rng() % 200));
    std::sort(ids.begin(), ids.end());
    ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
    std::shuffle(ids.begin(), ids.end(), rng);
    std::vector<NodeId> base(ids.begin(), ids.end() - 2);
    NodeId a = ids[ids.size() - 2], b = ids.back();
    TreeModel t = Build(base);
    auto sa = t.SlotFor(a), sb = t.SlotFor(b);
    REQUIRE(sa);
    REQUIRE(sb);
    bool same_slot = !(*sa < *sb) && !(*sb < *sa);
    TreeModel ab = t, ba = t;
    ab.Insert(a, 1);
    ab.Insert(b, 2);
    ba.Insert(b, 2);
    ba.Insert(a, 1);
    bool same_tree = ab.Find(a)->parent == ba.Find(a)->parent &&
                     ab.Find(b)->parent == ba.Find(b)->parent;
    CHECK(same_tree == !same_slot);
    (same_slot ? conflicting : commuting)++;
  }
  CHECK(commuting > 50);  // both cases were really exercised
  CHECK(conflicting > 5);
}

TEST_CASE("tree: sorted insertion makes a chain") {
  Ids order;
  for (NodeId i = 1; i <= 100; ++i) order.push_back(i);
  TreeModel t = Build(order);
  REQUIRE(t.root() == NodeId{1});
  Shape(t, 1, kNone, kNone, 2);
  for (NodeId i = 2; i <= 100; ++i) {
    const TreeModel::Entry& e = At(t, i);
    INFO("node " << i);
    CHECK(e.parent == i - 1);
    CHECK_FALSE(e.left.has_value());
    if (i < 100) {
      CHECK(e.right == i + 1);
    } else {
      CHECK_FALSE(e.right.has_value());
    }
  }
  CHECK(t.Ids() == order);
  CHECK(t.Subtree(98) == Ids{98, 99, 100});
}

TEST_CASE("tree: RemoveSubtree of an inner node removes exactly its subtree") {
  TreeModel t = Build({50, 30, 70, 20, 40, 60, 80, 35, 45});
  CHECK(t.Subtree(30) == Ids{20, 30, 35, 40, 45});
  CHECK(t.Subtree(40) == Ids{35, 40, 45});
  CHECK(t.Subtree(80) == Ids{80});
  CHECK(t.Subtree(31).empty());

  Ids gone = t.RemoveSubtree(40);
  CHECK(gone == Ids{35, 40, 45});
  CHECK(t.Ids() == Ids{20, 30, 50, 60, 70, 80});
  for (NodeId id : {35, 40, 45}) CHECK_FALSE(t.Contains(id));
  Shape(t, 30, 50, 20, kNone);  // unlinked from its parent
  Shape(t, 50, kNone, 30, 70);
  // The freed slot is where a new 42 lands.
  CHECK(t.InsertionParent(42) == NodeId{30});
  t.Insert(42, 1);
  Shape(t, 30, 50, 20, 42);

  Ids left = t.RemoveSubtree(30);
  CHECK(left == Ids{20, 30, 42});
  Shape(t, 50, kNone, kNone, 70);
  CHECK(t.Ids() == Ids{50, 60, 70, 80});

  // Removing an absent id changes nothing.
  CHECK(t.RemoveSubtree(30).empty());
  CHECK(t.Ids() == Ids{50, 60, 70, 80});
}

TEST_CASE("tree: removing a leaf or the root") {
  TreeModel t = Build({50, 30, 70});
  CHECK(t.RemoveSubtree(70) == Ids{70});
  Shape(t, 50, kNone, 30, kNone);

  CHECK(t.RemoveSubtree(50) == Ids{30, 50});
  CHECK(t.empty());
  CHECK_FALSE(t.root().has_value());
  CHECK(t.Ids().empty());

  // A new root after the old one is gone.
  t.Insert(5, 1);
  CHECK(t.root() == NodeId{5});
  Shape(t, 5, kNone, kNone, kNone);
}

TEST_CASE("tree: Ids ascending whatever the insertion order") {
  Ids order = {0, -5, 17, INT64_MIN, INT64_MAX, 3, -1, 100, 2};
  TreeModel t = Build(order);
  Ids sorted = order;
  std::sort(sorted.begin(), sorted.end());
  CHECK(t.Ids() == sorted);
  CHECK(t.Subtree(0) == sorted);
  CHECK(t.Subtree(-5) == Ids{INT64_MIN, -5, -1});
}

// --- routing ------------------------------------------------------------------------------------

static_assert(RouteStep(5, 5) == Route::kSelf);
static_assert(RouteStep(5, 4) == Route::kLeft);
static_assert(RouteStep(5, 6) == Route::kRight);

TEST_CASE("routing: RouteStep compares target with self") {
  constexpr NodeId kMin = std::numeric_limits<NodeId>::min();
  constexpr NodeId kMax = std::numeric_limits<NodeId>::max();
  CHECK(RouteStep(10, 10) == Route::kSelf);
  CHECK(RouteStep(10, 3) == Route::kLeft);
  CHECK(RouteStep(10, 11) == Route::kRight);
  CHECK(RouteStep(0, 0) == Route::kSelf);
  CHECK(RouteStep(0, -1) == Route::kLeft);
  CHECK(RouteStep(-1, 0) == Route::kRight);
  CHECK(RouteStep(-5, -7) == Route::kLeft);
  CHECK(RouteStep(-7, -5) == Route::kRight);
  CHECK(RouteStep(kMin, kMin) == Route::kSelf);
  CHECK(RouteStep(kMax, kMax) == Route::kSelf);
  CHECK(RouteStep(kMin, kMax) == Route::kRight);
  CHECK(RouteStep(kMax, kMin) == Route::kLeft);
  CHECK(RouteStep(kMin + 1, kMin) == Route::kLeft);
  CHECK(RouteStep(kMax - 1, kMax) == Route::kRight);
  CHECK(RouteStep(0, kMin) == Route::kLeft);
  CHECK(RouteStep(0, kMax) == Route::kRight);
}

// Descends from the root the way the nodes forward a request. Returns the ids visited, and
// whether the last one is the target (false: the request fell off the tree, "not found").
struct Descent {
  Ids path;
  bool found = false;
};

Descent Descend(const TreeModel& t, NodeId target) {
  Descent d;
  std::optional<NodeId> at = t.root();
  while (at) {
    d.path.push_back(*at);
    REQUIRE(d.path.size() <= t.Ids().size());
    const TreeModel::Entry& e = At(t, *at);
    switch (RouteStep(*at, target)) {
      case Route::kSelf: d.found = true; return d;
      case Route::kLeft: at = e.left; break;
      case Route::kRight: at = e.right; break;
    }
  }
  return d;
}

// The root-to-`id` chain from the parent links.
Ids ParentChain(const TreeModel& t, NodeId id) {
  Ids chain = {id};
  for (std::optional<NodeId> p = At(t, id).parent; p; p = At(t, *p).parent) chain.push_back(*p);
  std::reverse(chain.begin(), chain.end());
  return chain;
}

TEST_CASE("routing: descending with RouteStep follows the parent chain to every node") {
  std::mt19937_64 rng(42);
  for (int round = 0; round < 20; ++round) {
    TreeModel t;
    std::uniform_int_distribution<NodeId> any(round % 2 ? -1000 : std::numeric_limits<NodeId>::min(),
                                             round % 2 ? 1000 : std::numeric_limits<NodeId>::max());
    for (int i = 0; i < 200; ++i) {
      NodeId id = any(rng);
      if (!t.Contains(id)) t.Insert(id, i);
    }
    for (NodeId id : t.Ids()) {
      INFO("round " << round << " node " << id);
      Descent d = Descend(t, id);
      CHECK(d.found);
      CHECK(d.path == ParentChain(t, id));
    }
  }
  TreeModel fixed = Build({50, 30, 70, 20, 40, 60, 80});
  CHECK(Descend(fixed, 40).path == Ids{50, 30, 40});
  CHECK(Descend(fixed, 60).path == Ids{50, 70, 60});
  CHECK(Descend(fixed, 50).path == Ids{50});
  // An absent id falls off the tree below its insertion parent.
  Descent miss = Descend(fixed, 45);
  CHECK_FALSE(miss.found);
  CHECK(miss.path == Ids{50, 30, 40});
  CHECK(fixed.InsertionParent(45) == miss.path.back());
}

}  // namespace
}  // namespace arbor::controller
