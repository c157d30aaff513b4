// orrery-worker: the job's worker program in library mode. It loads the shared libraries on
// ORRERY_CODE_SEARCH_PATH (files, or every *.so in a folder), whose ORRERY_REMOTE registrations
// fill the function table, then serves tasks until the job ends.
#include <dirent.h>
#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "orrery/api.h"

namespace {

std::vector<std::string> Split(const std::string& text, char separator) {
  std::vector<std::string> parts;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find(separator, start);
    if (end == std::string::npos) end = text.size();
    if (end > start) parts.push_back(text.substr(start, end - start));
    start = end + 1;
  }
  return parts;
}

bool EndsWith(const std::string& text, const std::string& suffix) {
  return text.size() >= suffix.size() && text.compare(text.size() - suffix.size(), suffix.size(), suffix) == 0;
}

void Load(const std::string& path) {
  if (dlopen(path.c_str(), RTLD_NOW | RTLD_GLOBAL) == nullptr) {
    // The task that needs a missing function fails with FunctionNotFoundError naming it.
    std::fprintf(stderr, "orrery-worker: cannot load %s: %s\n", path.c_str(), dlerror());
  }
}

}  // namespace

int main() {
  const char* search_path = std::getenv("ORRERY_CODE_SEARCH_PATH");
  for (std::string entry : Split(search_path == nullptr ? "" : search_path, ':')) {
    // A relative entry is in this folder (the job's working_dir), never on the loader's path.
    if (entry[0] != '/') entry = "./" + entry;
    DIR* dir = opendir(entry.c_str());
    if (dir == nullptr) {
      Load(entry);
      continue;
    }
    while (dirent* file = readdir(dir)) {
      std::string name = file->d_name;
      if (EndsWith(name, ".so") || name.find(".so.") != std::string::npos) Load(entry + "/" + name);
    }
    closedir(dir);
  }
  orrery::internal::ServeIfWorker();
  std::fprintf(stderr, "orrery-worker is started by a raylet for a job in library mode, not by hand\n");
  return 2;
}
