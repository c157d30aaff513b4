// ray::RuntimeEnv (ray_compat): fields by name as JSON, Ray's errors, and what Orrery applies.
#include <map>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "ray/api.h"

namespace {

using Vars = std::map<std::string, std::string>;
using ray::internal::RayRuntimeEnvException;
using ::testing::HasSubstr;

TEST(RayRuntimeEnv, FieldsReadBackAsSetAndSurviveSerialization) {
  ray::RuntimeEnv env;
  EXPECT_TRUE(env.Empty());
  env.Set("env_vars", Vars{{"A", "1"}});
  env.SetJsonStr("working_dir", "\"/data/project\"");
  EXPECT_TRUE(env.Contains("env_vars"));
  EXPECT_EQ(env.Get<Vars>("env_vars"), (Vars{{"A", "1"}}));
  EXPECT_EQ(env.GetJsonStr("working_dir"), "\"/data/project\"");

  ray::RuntimeEnv copy = ray::RuntimeEnv::Deserialize(env.Serialize());
  EXPECT_EQ(copy.Get<Vars>("env_vars"), (Vars{{"A", "1"}}));
  EXPECT_EQ(copy.Get<std::string>("working_dir"), "/data/project");
  EXPECT_THAT(env.SerializeToRuntimeEnvInfo(), HasSubstr("serialized_runtime_env"));
  EXPECT_TRUE(copy.Remove("working_dir"));
  EXPECT_FALSE(copy.Remove("working_dir"));
}

TEST(RayRuntimeEnv, MissingFieldsWrongTypesAndBadJsonThrowRayRuntimeEnvException) {
  ray::RuntimeEnv env;
  EXPECT_THROW(env.Get<std::string>("env_vars"), RayRuntimeEnvException);
  env.Set("env_vars", 3);
  EXPECT_THROW(env.Get<Vars>("env_vars"), RayRuntimeEnvException);
  EXPECT_THROW(env.SetJsonStr("x", "{not json"), RayRuntimeEnvException);
  EXPECT_THROW(ray::RuntimeEnv::Deserialize("[1, 2]"), RayRuntimeEnvException);
}

TEST(RayRuntimeEnv, ATaskTakesItsEnvVarsAndRefusesWhatOrreryCannotApply) {
  ray::RuntimeEnv env;
  env.Set("env_vars", Vars{{"MODE", "eval"}});
  orrery::RuntimeEnv applied = env;
  EXPECT_EQ(applied.env_vars, (Vars{{"MODE", "eval"}}));

  env.Set("pip", std::vector<std::string>{"numpy"});
  try {
    orrery::RuntimeEnv refused = env;
    ADD_FAILURE() << "pip was taken";
  } catch (const RayRuntimeEnvException& e) {
    EXPECT_THAT(e.what(), HasSubstr("pip"));
  }
  ray::RuntimeEnv per_job;
  per_job.Set("working_dir", std::string("/data"));
  EXPECT_THROW(static_cast<orrery::RuntimeEnv>(per_job), RayRuntimeEnvException);
}

TEST(RayRuntimeEnv, RayConfigRuntimeEnvBecomesTheJobsWorkingDirAndVariables) {
  ray::RayConfig config;
  ray::RuntimeEnv env;
  env.Set("working_dir", std::string("/data/project"));
  env.Set("env_vars", Vars{{"STAGE", "job"}});
  config.runtime_env = env;
  orrery::Config native = ray::internal::ToOrrery(config);
  EXPECT_EQ(native.working_dir, "/data/project");
  EXPECT_EQ(native.runtime_env.env_vars, (Vars{{"STAGE", "job"}}));
}

}  // namespace
