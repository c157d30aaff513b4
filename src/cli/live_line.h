// A line kept at the bottom of a terminal while output scrolls above it: what `orrery job
// submit` shows under the job's followed log (its tasks by state). Written with a carriage
// return and "erase line" (ESC [K), which every terminal since the VT100 understands; used only
// when the output is a terminal, so a file or a pipe gets the log alone.
#pragma once

#include <cstdio>
#include <string>

#include "orrery/task_events.pb.h"

namespace orrery::cli {

class LiveLine {
 public:
  explicit LiveLine(FILE* out) : out_(out) {}

  // Writes `data` above the line: the line is erased first and drawn again once the output
  // ends a line (it never splits a line of the log).
  void Write(const std::string& data);
  // Sets the line and draws it (when the output is at the start of a line).
  void Show(const std::string& line);
  // Erases the line for good.
  void Clear();

 private:
  void Erase();
  void Draw();

  FILE* const out_;
  std::string line_;
  bool shown_ = false;
  bool at_line_start_ = true;
};

// "tasks: 2 running, 118 finished, 1 failed" from a job's counts (GetTaskEvents with
// counts_only), the states in the order a task goes through them; "tasks: none yet" when none.
std::string JobTasksLine(const rpc::JobTaskEventCounts& counts);

}  // namespace orrery::cli
