// What every fuzz target uses to state a property: a failed check prints what broke and
// aborts, which libFuzzer reports as a crash and saves the input that caused it. (assert()
// would vanish under -DNDEBUG, which RelWithDebInfo sets.)
#pragma once

#include <cstdio>
#include <cstdlib>

#define FUZZ_CHECK(cond)                                                             \
  do {                                                                               \
    if (!(cond)) {                                                                   \
      std::fprintf(stderr, "%s:%d: property broken: %s\n", __FILE__, __LINE__, #cond); \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)
