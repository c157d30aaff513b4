// The behaviour tests of remote functions and actors run twice: on a cluster Init() starts, and
// in local mode (ORRERY_TEST_LOCAL_MODE=1, set by tests/CMakeLists.txt for the "local_mode."
// runs), with the same assertions. A test whose point is a second process skips local mode,
// saying why.
#pragma once

#include <cstdlib>
#include <string>

#include "gtest/gtest.h"

namespace orrery::testing {

inline bool LocalMode() {
  const char* value = std::getenv("ORRERY_TEST_LOCAL_MODE");
  return value != nullptr && std::string(value) == "1";
}

}  // namespace orrery::testing

// Skips the test in the local-mode run: `why` names the second process it needs.
#define ORRERY_SKIP_IN_LOCAL_MODE(why)   \
  if (!::orrery::testing::LocalMode()) { \
  } else                                 \
    GTEST_SKIP() << "needs a second process: " << why
