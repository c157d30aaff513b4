#include "src/cli/live_line.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"

namespace orrery::cli {

namespace {

// Back to the line's start, and the line erased.
constexpr char kEraseLine[] = "\r\033[K";

}  // namespace

void LiveLine::Write(const std::string& data) {
  if (data.empty()) return;
  Erase();
  fwrite(data.data(), 1, data.size(), out_);
  at_line_start_ = data.back() == '\n';
  Draw();
}

void LiveLine::Show(const std::string& line) {
  Erase();
  line_ = line;
  Draw();
}

void LiveLine::Clear() {
  Erase();
  line_.clear();
}

void LiveLine::Erase() {
  if (!shown_) return;
  fputs(kEraseLine, out_);
  shown_ = false;
  fflush(out_);
}

void LiveLine::Draw() {
  if (!line_.empty() && at_line_start_) {
    fputs(line_.c_str(), out_);
    shown_ = true;
  }
  fflush(out_);
}

std::string JobTasksLine(const rpc::JobTaskEventCounts& counts) {
  std::string line;
  for (const rpc::TaskStateCount& count : counts.tasks_by_state()) {
    if (count.tasks() <= 0) continue;
    absl::StrAppend(&line, line.empty() ? "" : ", ", count.tasks(), " ",
                    absl::AsciiStrToLower(rpc::TaskState_Name(count.state())));
  }
  return "tasks: " + (line.empty() ? std::string("none yet") : line);
}

}  // namespace orrery::cli
