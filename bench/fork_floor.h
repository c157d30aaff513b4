// The floor of actor creation: a process shaped like a job's zygote (this program, its libraries
// loaded, one thread) forking children that exit at once. Forked before Init(), it waits for a
// count on a socket, forks and reaps that many children one after another, and answers with the
// seconds they took.
#pragma once

#include <sys/types.h>

namespace orrery::bench {

struct ForkFloor {
  pid_t pid = -1;
  int fd = -1;  // this process's end of the socket pair
};

// Call before any thread starts (as the zygote is). pid -1 when it could not be started.
ForkFloor StartForkFloor();
// Children forked per second for `children` forks; 0 when the floor process is gone.
double ForkFloorRate(const ForkFloor& floor, int children);
void StopForkFloor(ForkFloor& floor);

}  // namespace orrery::bench
