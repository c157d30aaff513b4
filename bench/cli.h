// The orrery CLI as orrery-microbench's cluster figures use it: clusters started, inspected and
// stopped as a user does it (`orrery start`, `orrery list`, `orrery stop`).
#pragma once

#include <stdio.h>

#include <filesystem>
#include <regex>
#include <string>

namespace orrery::bench {

// The orrery CLI next to this program, run with `args`: what it printed (stdout and stderr).
inline std::string Cli(const std::string& args) {
  std::string cli = std::filesystem::read_symlink("/proc/self/exe").parent_path() / "orrery";
  std::string output;
  FILE* pipe = popen((cli + " " + args + " 2>&1").c_str(), "r");
  if (pipe == nullptr) return output;
  char buffer[4096];
  while (size_t n = fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  pclose(pipe);
  return output;
}

// The first group of `pattern` in `text`, or "".
inline std::string Match(const std::string& text, const char* pattern) {
  std::smatch match;
  return std::regex_search(text, match, std::regex(pattern)) ? match[1].str() : "";
}

}  // namespace orrery::bench
