// WorkerPool: threads start on demand, never beyond the maximum, and every task runs.
#include "arbor/worker_pool.h"

#include <atomic>
#include <future>

#include <catch2/catch.hpp>

using arbor::WorkerPool;

TEST_CASE("worker pool: an idle pool holds no thread and starts one for its first task") {
  WorkerPool pool(2);
  CHECK(pool.threads() == 0);
  std::promise<void> ran;
  REQUIRE(pool.Post([&] { ran.set_value(); }).ok());
  CHECK(ran.get_future().wait_for(std::chrono::seconds(5)) == std::future_status::ready);
  CHECK(pool.threads() == 1);
}

TEST_CASE("worker pool: busy threads get company up to the maximum and no further") {
  WorkerPool pool(3);
  std::promise<void> release;
  std::shared_future<void> gate = release.get_future().share();
  std::atomic<int> done{0};
  for (int i = 0; i < 10; ++i) {
    REQUIRE(pool.Post([&] {
      gate.wait();
      ++done;
    }).ok());
  }
  CHECK(pool.threads() == 3);
  release.set_value();
  for (int i = 0; i < 500 && done < 10; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  CHECK(done == 10);
  CHECK(pool.threads() == 3);
}

TEST_CASE("worker pool: Reserve starts threads up front and the destructor runs what is queued") {
  std::atomic<int> done{0};
  {
    WorkerPool pool(4);
    REQUIRE(pool.Reserve(2).ok());
    CHECK(pool.threads() == 2);
    REQUIRE(pool.Reserve(9).ok());  // capped at the maximum
    CHECK(pool.threads() == 4);
    for (int i = 0; i < 20; ++i) REQUIRE(pool.Post([&] { ++done; }).ok());
  }
  CHECK(done == 20);
}
