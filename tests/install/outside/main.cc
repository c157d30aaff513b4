// Prints the Orrery version it was compiled against and the one it runs with.
#include <cstdio>
#include <cstring>

#include <orrery/version.h>

int main() {
  std::printf("orrery headers %s, library %s\n", orrery::kVersion, orrery::LibraryVersion());
  return std::strcmp(orrery::kVersion, orrery::LibraryVersion()) == 0 ? 0 : 1;
}
