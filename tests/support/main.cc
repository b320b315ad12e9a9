// The Catch2 main for every arbor test binary. It blocks SIGCHLD the way arbor's own binaries
// do (the runtime's Supervisor expects it), and makes this process a child subreaper, so that
// node processes orphaned by a test are reparented here and can be reaped instead of lingering
// as zombies under an init that may not reap.
#define CATCH_CONFIG_RUNNER
#include <sys/prctl.h>

#include <catch2/catch.hpp>

#include "arbor/supervisor.h"

int main(int argc, char* argv[]) {
  arbor::Supervisor::BlockChildSignal();
  prctl(PR_SET_CHILD_SUBREAPER, 1);
  return Catch::Session().run(argc, argv);
}
