// The line kept under a followed job's log in a terminal: erased before output, drawn again
// only at the start of a line, gone at the end; and what it says of the job's tasks.
#include "src/cli/live_line.h"

#include <cstdio>
#include <cstdlib>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace orrery::cli {
namespace {

// What a LiveLine wrote, as the bytes a terminal receives.
class Terminal {
 public:
  Terminal() : out_(open_memstream(&buffer_, &size_)) {}
  ~Terminal() {
    fclose(out_);
    free(buffer_);
  }
  FILE* out() { return out_; }
  std::string Bytes() {
    fflush(out_);
    return std::string(buffer_, size_);
  }

 private:
  char* buffer_ = nullptr;
  size_t size_ = 0;
  FILE* out_;
};

TEST(LiveLine, IsErasedBeforeOutputAndDrawnAgainAfterIt) {
  Terminal terminal;
  LiveLine live(terminal.out());
  live.Write("starting\n");
  live.Show("tasks: 1 running");
  live.Write("step 1\n");
  live.Show("tasks: 2 finished");
  live.Clear();
  EXPECT_EQ(terminal.Bytes(),
            "starting\n"
            "tasks: 1 running"
            "\r\033[Kstep 1\ntasks: 1 running"
            "\r\033[Ktasks: 2 finished"
            "\r\033[K");
}

TEST(LiveLine, NeverSplitsALineOfTheLog) {
  Terminal terminal;
  LiveLine live(terminal.out());
  live.Write("half a ");
  live.Show("tasks: 1 running");  // not drawn: the log's line is not done
  live.Write("line\n");           // drawn once it is
  live.Clear();
  EXPECT_EQ(terminal.Bytes(), "half a line\ntasks: 1 running\r\033[K");
}

TEST(JobTasksLine, NamesEachStateWithTasksInOrder) {
  rpc::JobTaskEventCounts counts;
  EXPECT_EQ(JobTasksLine(counts), "tasks: none yet");
  auto add = [&](rpc::TaskState state, int64_t tasks) {
    rpc::TaskStateCount* count = counts.add_tasks_by_state();
    count->set_state(state);
    count->set_tasks(tasks);
  };
  add(rpc::RUNNING, 2);
  add(rpc::FINISHED, 118);
  add(rpc::FAILED, 1);
  EXPECT_EQ(JobTasksLine(counts), "tasks: 2 running, 118 finished, 1 failed");
}

}  // namespace
}  // namespace orrery::cli
