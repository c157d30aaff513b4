// Remote functions in a shared library, for library mode: the job's workers are the generic
// orrery-worker, which loads this library from the code search path.
#include <unistd.h>

#include <string>

#include "orrery/api.h"

int Multiply(int a, int b) { return a * b; }

// The program this runs in.
std::string WorkerProgram() {
  char path[4096];
  ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
  std::string exe(path, n > 0 ? static_cast<size_t>(n) : 0);
  return exe.substr(exe.find_last_of('/') + 1);
}

ORRERY_REMOTE(Multiply, WorkerProgram);
