// EXPECT for the Ray-shaped programs: they include Ray's headers only, so they check what they
// see with this and exit non-zero if anything was wrong.
#pragma once

#include <cstdio>

inline int compat_failures = 0;

#define EXPECT(condition)                                                         \
  do {                                                                            \
    if (!(condition)) {                                                           \
      std::fprintf(stderr, "%s:%d: expected %s\n", __FILE__, __LINE__, #condition); \
      ++compat_failures;                                                          \
    }                                                                             \
  } while (false)
