// arbor-bench-floor: the least a node process can be with arbor's libraries. It does what
// every node must (start spdlog, load the two plugins, listen on an nng rep socket), then
// reports "ready" on stdout and waits. `arbor-bench scale` measures its RSS in the same run as
// the nodes', so the figure a node adds over its libraries is a difference, not a guess.
//   arbor-bench-floor <url> <plugin.so>...
#include <dlfcn.h>
#include <unistd.h>

#include <cstdio>

#include <nng/nng.h>
#include <nng/protocol/reqrep0/rep.h>
#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: arbor-bench-floor <url> <plugin.so>...\n");
    return 2;
  }
  spdlog::set_level(spdlog::level::warn);
  spdlog::info("floor");  // formats nothing, as a quiet node's logging does
  for (int i = 2; i < argc; ++i) {
    if (dlopen(argv[i], RTLD_NOW) == nullptr) {
      std::fprintf(stderr, "%s\n", dlerror());
      return 1;
    }
  }
  nng_socket s;
  if (nng_rep0_open(&s) != 0 || nng_listen(s, argv[1], nullptr, 0) != 0) return 1;
  std::printf("ready\n");
  std::fflush(stdout);
  pause();
}
