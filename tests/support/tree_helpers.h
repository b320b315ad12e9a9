// Small helpers shared by the integration tests.
#pragma once

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "controller_process.h"

namespace arbor::testing {

// "Ok: 1234" -> 1234; fails the test otherwise.
inline pid_t PidOf(const std::string& line) {
  REQUIRE(line.rfind("Ok: ", 0) == 0);
  return static_cast<pid_t>(std::stol(line.substr(4)));
}

// Creates `ids` in order; returns id -> pid.
inline std::map<long, pid_t> CreateAll(ControllerProcess& c, const std::vector<long>& ids) {
  std::map<long, pid_t> pids;
  for (long id : ids) pids[id] = PidOf(c.Command("create " + std::to_string(id)));
  return pids;
}

}  // namespace arbor::testing
