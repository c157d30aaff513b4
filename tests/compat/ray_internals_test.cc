// The parts of Ray's headers beyond the API proper that Ray's own API tests use, as those tests
// use them: FunctionManager, CheckTaskOptions, the global json alias, and <ray/util/logging.h>
// (a log file of the program's own, RayLogLevel, RAY_CHECK).
#include <ray/api.h>
#include <ray/util/logging.h>

#include <filesystem>
#include <fstream>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::testing::HasSubstr;

int Return7() { return 7; }
int RegisteredByMacro(int x) { return x; }
RAY_REMOTE(RegisteredByMacro);

struct Pip {
  std::vector<std::string> packages;
};
// What Ray programs write for the types they give RuntimeEnv::Set, with Ray's global alias.
void to_json(json& j, const Pip& pip) { j = json{{"packages", pip.packages}}; }

TEST(RayCompatFunctionManager, RegistersAtRunTimeAndRefusesATakenName) {
  EXPECT_TRUE(ray::internal::FunctionManager::Instance().RegisterRemoteFunction("Return7", Return7));
  EXPECT_THROW(ray::internal::FunctionManager::Instance().RegisterRemoteFunction("Return7", Return7),
               ray::internal::RayException);
  try {
    ray::internal::FunctionManager::Instance().RegisterRemoteFunction("RegisteredByMacro", RegisteredByMacro);
    FAIL() << "a name RAY_REMOTE registered was taken again";
  } catch (const ray::internal::RayException& e) {
    EXPECT_THAT(e.what(), HasSubstr("Duplicate RAY_REMOTE function: RegisteredByMacro"));
  }
}

TEST(RayCompatFunctionManager, NamesTheClassOfARegisteredName) {
  using ray::internal::FunctionManager;
  EXPECT_EQ(FunctionManager::GetClassNameByFuncName("RAY_FUNC(Counter::FactoryCreate)"), "Counter");
  EXPECT_EQ(FunctionManager::GetClassNameByFuncName("RAY_FUNC(Counter::FactoryCreate, int)"), "Counter");
  EXPECT_EQ(FunctionManager::GetClassNameByFuncName("Counter::FactoryCreate"), "Counter");
  EXPECT_EQ(FunctionManager::GetClassNameByFuncName("&Counter::Add"), "Counter");
  EXPECT_EQ(FunctionManager::GetClassNameByFuncName("FactoryCreate"), "");
  EXPECT_EQ(FunctionManager::GetClassNameByFuncName(""), "");
  EXPECT_EQ(FunctionManager::GetClassNameByFuncName("::FactoryCreate"), "");
}

TEST(RayCompatTaskOptions, CheckTaskOptionsRefusesWhatRaysDoes) {
  using ray::internal::CheckTaskOptions;
  EXPECT_THROW(CheckTaskOptions({{"", 1}}), ray::internal::RayException);
  EXPECT_THROW(CheckTaskOptions({{"dummy", 0}}), ray::internal::RayException);
  EXPECT_THROW(CheckTaskOptions({{"dummy", 2.5}}), ray::internal::RayException);
  EXPECT_NO_THROW(CheckTaskOptions({{"dummy", 2.0}, {"other", 0.5}}));
}

TEST(RayCompatRuntimeEnv, AProgramsToJsonWithRaysGlobalAliasSetsAField) {
  ray::RuntimeEnv env;
  env.Set("pip", Pip{{"numpy"}});
  EXPECT_EQ(env.Get<json>("pip")["packages"][0], "numpy");
}

TEST(RayCompatLogging, StartRayLogSendsRaylogToAFileOfItsOwnAtItsThreshold) {
  std::string dir = ::testing::TempDir() + "/ray-log-" + std::to_string(getpid()) + "/";
  ray::RayLog::StartRayLog("cpp_worker", ray::RayLogLevel::DEBUG, dir);
  RAYLOG(DEBUG) << "debug test";
  RAYLOG(INFO) << "info test";
  RAYLOG(WARNING) << "warning test";
  RAY_CHECK(true) << "not written";
  ray::RayLog::ShutDownRayLog();
  RAYLOG(INFO) << "after shutdown";  // back in the runtime's log
  std::ifstream in(dir + "cpp_worker.log");
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_THAT(lines[0], HasSubstr("debug test"));
  EXPECT_THAT(lines[1], HasSubstr("info test"));
  EXPECT_THAT(lines[2], HasSubstr("warning test"));
  std::filesystem::remove_all(dir);
}

TEST(RayCompatLoggingDeathTest, RayCheckWritesTheConditionAndAborts) {
  int rows = 0;
  EXPECT_DEATH(RAY_CHECK(rows > 0) << "no rows", "Check failed: rows > 0 +no rows");
}

}  // namespace
