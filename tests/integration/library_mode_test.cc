// Library mode: the driver names a shared library in code_search_path, and the job's workers
// are orrery-worker processes that load it (not this program).
#include <filesystem>
#include <string>

#include "gtest/gtest.h"
#include "orrery/api.h"

int Multiply(int a, int b);
std::string WorkerProgram();

namespace {

TEST(LibraryMode, OrreryWorkerLoadsTheCodeSearchPathAndRunsItsFunctions) {
  std::string root = (std::filesystem::temp_directory_path() / "ot-XXXXXX").string();
  ASSERT_NE(mkdtemp(root.data()), nullptr);
  orrery::Config config;
  config.temp_dir = root;
  config.head_args = {"--num-cpus=1"};
  // A folder: every shared library in it is loaded.
  config.code_search_path = {std::filesystem::path(ORRERY_TEST_LIBRARY).parent_path().string()};
  orrery::Init(config);
  EXPECT_EQ(*orrery::Get(orrery::Task(Multiply).Remote(6, 7)), 42);
  EXPECT_EQ(*orrery::Get(orrery::Task(WorkerProgram).Remote()), "orrery-worker");
  orrery::Shutdown();
  std::filesystem::remove_all(root);
}

TEST(LibraryMode, ARelativeCodeSearchPathIsFoundInTheWorkingDir) {
  std::string root = (std::filesystem::temp_directory_path() / "ot-XXXXXX").string();
  ASSERT_NE(mkdtemp(root.data()), nullptr);
  // The library travels with the job: <working_dir>/lib/, named relative to the working_dir.
  std::filesystem::path project = std::filesystem::path(root) / "project";
  std::filesystem::create_directories(project / "lib");
  std::filesystem::copy_file(ORRERY_TEST_LIBRARY, project / "lib" / std::filesystem::path(ORRERY_TEST_LIBRARY).filename());
  orrery::Config config;
  config.temp_dir = root;
  config.head_args = {"--num-cpus=1"};
  config.working_dir = project.string();
  config.code_search_path = {"lib"};
  orrery::Init(config);
  EXPECT_EQ(*orrery::Get(orrery::Task(Multiply).Remote(6, 7)), 42);
  orrery::Shutdown();
  std::filesystem::remove_all(root);
}

}  // namespace
