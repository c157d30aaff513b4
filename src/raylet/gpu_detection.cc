#include "src/raylet/gpu_detection.h"

#include <cstdio>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_split.h"

namespace orrery::raylet {

std::vector<std::string> DetectGpus(const std::function<const char*(const char*)>& env,
                                    const std::function<std::string(const std::string&)>& run) {
  std::vector<std::string> ids;
  if (const char* visible = env("CUDA_VISIBLE_DEVICES"); visible != nullptr) {
    std::string value(absl::StripAsciiWhitespace(visible));
    // CUDA's own spellings of "none".
    if (value.empty() || value == "-1" || value == "NoDevFiles") return ids;
    for (absl::string_view part : absl::StrSplit(value, ',')) {
      std::string id(absl::StripAsciiWhitespace(part));
      if (!id.empty()) ids.push_back(id);
    }
    return ids;
  }
  std::string listing = run("nvidia-smi -L 2>/dev/null");
  int index = 0;
  for (absl::string_view line : absl::StrSplit(listing, '\n')) {
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "GPU ")) ids.push_back(std::to_string(index++));
  }
  return ids;
}

std::string RunCommand(const std::string& command) {
  std::string out;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) return out;
  char buf[512];
  size_t n;
  while ((n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  pclose(pipe);
  return out;
}

std::vector<std::string> DetectGpus() {
  return DetectGpus([](const char* name) { return std::getenv(name); }, RunCommand);
}

}  // namespace orrery::raylet
