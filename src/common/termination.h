// Work a process does when SIGTERM ends it (a worker its raylet ends, which SIGKILLs it after
// a grace period): hooks run in the order added, on a thread of their own, and then the
// process ends by that SIGTERM as before, so that whoever waits on it reads the same death.
// The signal handler only wakes that thread (a handler may do little else). A process that
// adds no hook keeps SIGTERM's default.
#pragma once

#include <functional>

#include "absl/status/status.h"

namespace orrery {

// Each hook should end well within the grace period (2 s for a raylet's workers): what has not
// run by then never does. Errors: the handler could not be installed (then nothing is).
absl::Status RunOnTermination(std::function<void()> hook);

}  // namespace orrery
