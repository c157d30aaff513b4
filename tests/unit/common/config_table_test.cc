// ConfigTable and AddConfigFlags (src/common/config_table.h, config_flags.h), walked over every key
// of the real GCS and raylet tables: names, variables, flags, precedence and the dump.
#include "src/common/config_table.h"

#include <map>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "CLI/CLI.hpp"
#include "absl/strings/ascii.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/config_flags.h"
#include "src/gcs/gcs_config.h"
#include "src/raylet/raylet_config.h"
#include "tests/testing/status_matchers.h"

namespace orrery {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::AllOf;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;

// A fake environment: only what the test puts in it.
class FakeEnv {
 public:
  void Set(const std::string& name, const std::string& value) { vars_[name] = value; }
  EnvLookup Lookup() {
    return [this](const char* name) -> const char* {
      asked_.insert(name);
      auto it = vars_.find(name);
      return it == vars_.end() ? nullptr : it->second.c_str();
    };
  }
  const std::set<std::string>& asked() const { return asked_; }

 private:
  std::map<std::string, std::string> vars_;
  std::set<std::string> asked_;
};

// A valid value for each type, and a different valid one to give on the command line.
std::string ValueFor(const std::string& type_name) {
  static const std::map<std::string, std::string> kValues = {
      {"bool", "true"}, {"int32", "7"}, {"int64", "7"}, {"double", "2.5"}, {"string", "x"}, {"list", "a,b"}};
  auto it = kValues.find(type_name);
  return it == kValues.end() ? "" : it->second;
}
std::string OtherValueFor(const std::string& type_name) {
  static const std::map<std::string, std::string> kValues = {
      {"bool", "false"}, {"int32", "9"}, {"int64", "9"}, {"double", "4.5"}, {"string", "y"}, {"list", "c,d"}};
  auto it = kValues.find(type_name);
  return it == kValues.end() ? "" : it->second;
}

// "name = value" is a whole line of the dump.
bool DumpShows(const std::string& dump, const std::string& name, const std::string& value) {
  return ("\n" + dump).find("\n" + name + " = " + value + "\n") != std::string::npos;
}

// Parses argv (without the program name) with the table's flags into `config`.
template <typename Config>
void ParseFlags(const ConfigTable<Config>& table, Config& config, const std::vector<std::string>& args) {
  CLI::App app("test");
  AddConfigFlags(app, table, config);
  std::vector<const char*> argv = {"prog"};
  for (const auto& arg : args) argv.push_back(arg.c_str());
  app.parse(static_cast<int>(argv.size()), argv.data());
}

template <typename Config>
void ExpectNamesFollowTheKey(const ConfigTable<Config>& table) {
  const std::regex snake("[a-z0-9]+(_[a-z0-9]+)*");
  const std::regex kebab("[a-z0-9]+(-[a-z0-9]+)*");
  const std::regex env("ORRERY_[A-Z0-9]+(_[A-Z0-9]+)*");
  std::set<std::string> keys;
  ASSERT_FALSE(table.fields().empty());
  for (const ConfigField& field : table.fields()) {
    SCOPED_TRACE(field.name);
    EXPECT_TRUE(keys.insert(field.name).second) << "duplicate key " << field.name;
    EXPECT_TRUE(std::regex_match(field.name, snake));
    EXPECT_TRUE(std::regex_match(field.FlagName(), kebab)) << field.FlagName();
    EXPECT_TRUE(std::regex_match(field.EnvName(), env)) << field.EnvName();
    std::string kebab_name = field.name, env_name = field.name;
    for (char& c : kebab_name) c = c == '_' ? '-' : c;
    for (char& c : env_name) c = absl::ascii_toupper(c);
    EXPECT_EQ(field.FlagName(), kebab_name);
    EXPECT_EQ(field.EnvName(), "ORRERY_" + env_name);
    EXPECT_NE(ValueFor(field.type_name), "") << "no test value for type " << field.type_name;
    EXPECT_FALSE(field.help.empty());
  }
}

// Every variable sets its key and shows in the dump, and the key's flag beats the variable.
template <typename Config>
void ExpectEveryVariableAndFlagWorks(const ConfigTable<Config>& table) {
  FakeEnv env;
  std::set<std::string> env_names;
  for (const ConfigField& field : table.fields()) {
    env.Set(field.EnvName(), ValueFor(field.type_name));
    env_names.insert(field.EnvName());
  }
  Config from_env;
  ASSERT_OK(table.ApplyEnvironment(from_env, env.Lookup()));
  EXPECT_EQ(env.asked(), env_names) << "ApplyEnvironment reads exactly the table's variables";
  std::string dump = table.Dump(from_env);
  for (const ConfigField& field : table.fields()) {
    SCOPED_TRACE(field.name);
    EXPECT_EQ(field.get(&from_env), ValueFor(field.type_name));
    if (field.secret) {
      EXPECT_TRUE(DumpShows(dump, field.name, "<hidden>")) << dump;
    } else {
      EXPECT_TRUE(DumpShows(dump, field.name, ValueFor(field.type_name))) << dump;
    }
  }
  for (const ConfigField& field : table.fields()) {
    SCOPED_TRACE(field.name);
    Config config;
    ASSERT_OK(table.ApplyEnvironment(config, env.Lookup()));
    ASSERT_NO_THROW(ParseFlags(table, config, {"--" + field.FlagName() + "=" + OtherValueFor(field.type_name)}));
    EXPECT_EQ(field.get(&config), OtherValueFor(field.type_name)) << "the flag must beat ORRERY_ variable";
    // The other keys keep what the environment gave them.
    for (const ConfigField& other : table.fields()) {
      if (&other != &field) {
        EXPECT_EQ(other.get(&config), ValueFor(other.type_name)) << other.name;
      }
    }
  }
}

template <typename Config>
void ExpectBadVariablesNameTheVariable(const ConfigTable<Config>& table) {
  int checked = 0;
  for (const ConfigField& field : table.fields()) {
    if (field.type_name == "string" || field.type_name == "list") continue;  // any text is valid
    SCOPED_TRACE(field.name);
    FakeEnv env;
    env.Set(field.EnvName(), "not-a-value");
    Config config;
    EXPECT_THAT(table.ApplyEnvironment(config, env.Lookup()),
                StatusIs(absl::StatusCode::kInvalidArgument,
                         AllOf(HasSubstr(field.EnvName()), HasSubstr("not-a-value"))));
    ++checked;
  }
  EXPECT_GT(checked, 0);
}

TEST(ConfigTableTest, GcsKeysAreUniqueAndNamedConsistently) { ExpectNamesFollowTheKey(gcs::GcsConfigTable()); }

TEST(ConfigTableTest, RayletKeysAreUniqueAndNamedConsistently) {
  ExpectNamesFollowTheKey(raylet::RayletConfigTable());
}

TEST(ConfigTableTest, EveryGcsVariableSetsItsKeyAndItsFlagBeatsIt) {
  ExpectEveryVariableAndFlagWorks(gcs::GcsConfigTable());
}

TEST(ConfigTableTest, EveryRayletVariableSetsItsKeyAndItsFlagBeatsIt) {
  ExpectEveryVariableAndFlagWorks(raylet::RayletConfigTable());
}

TEST(ConfigTableTest, ABadGcsVariableIsAnErrorNamingIt) { ExpectBadVariablesNameTheVariable(gcs::GcsConfigTable()); }

TEST(ConfigTableTest, ABadRayletVariableIsAnErrorNamingIt) {
  ExpectBadVariablesNameTheVariable(raylet::RayletConfigTable());
}

TEST(ConfigTableTest, AnInt32VariableOutOfRangeIsRejected) {
  FakeEnv env;
  env.Set("ORRERY_PORT", "3000000000");
  gcs::GcsConfig config;
  EXPECT_THAT(gcs::GcsConfigTable().ApplyEnvironment(config, env.Lookup()),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ORRERY_PORT")));
}

TEST(ConfigTableTest, UnsetVariablesKeepTheDefaults) {
  FakeEnv env;
  raylet::RayletConfig config;
  ASSERT_OK(raylet::RayletConfigTable().ApplyEnvironment(config, env.Lookup()));
  raylet::RayletConfig defaults;
  EXPECT_EQ(raylet::RayletConfigTable().Dump(config), raylet::RayletConfigTable().Dump(defaults));
}

TEST(ConfigTableTest, SetByKeyNamesTheFlagInErrors) {
  gcs::GcsConfig config;
  ASSERT_OK(gcs::GcsConfigTable().Set(config, "pubsub_history", "5"));
  EXPECT_EQ(config.pubsub_history, 5);
  EXPECT_THAT(gcs::GcsConfigTable().Set(config, "pubsub_history", "many"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--pubsub-history")));
  EXPECT_THAT(gcs::GcsConfigTable().Set(config, "no_such_key", "1"), StatusIs(absl::StatusCode::kNotFound));
}

TEST(ConfigTableTest, SecretsAreNeverPrinted) {
  gcs::GcsConfig config;
  config.token = "s3cret-token";
  EXPECT_THAT(gcs::GcsConfigTable().Dump(config), Not(HasSubstr("s3cret-token")));
  CLI::App app("test");
  AddConfigFlags(app, gcs::GcsConfigTable(), config);
  EXPECT_THAT(app.help(), Not(HasSubstr("s3cret-token")));
  EXPECT_THAT(app.help(), HasSubstr("ORRERY_TOKEN"));
}

TEST(ConfigFlagsTest, HelpNamesEachVariable) {
  raylet::RayletConfig config;
  CLI::App app("test");
  AddConfigFlags(app, raylet::RayletConfigTable(), config);
  for (const ConfigField& field : raylet::RayletConfigTable().fields()) {
    const CLI::Option* option = app.get_option("--" + field.FlagName());
    ASSERT_NE(option, nullptr) << field.name;
    EXPECT_THAT(option->get_description(), HasSubstr(field.EnvName()));
  }
}

TEST(ConfigFlagsTest, ABadFlagValueIsAParseError) {
  gcs::GcsConfig config;
  EXPECT_THROW(ParseFlags(gcs::GcsConfigTable(), config, {"--port=abc"}), CLI::ParseError);
}

TEST(ConfigFlagsTest, ABoolFlagAloneMeansTrue) {
  raylet::RayletConfig config;
  config.prestart_workers = false;
  ASSERT_NO_THROW(ParseFlags(raylet::RayletConfigTable(), config, {"--prestart-workers"}));
  EXPECT_TRUE(config.prestart_workers);

  config.prestart_workers = false;
  ASSERT_NO_THROW(ParseFlags(raylet::RayletConfigTable(), config, {"--prestart-workers", "--num-gpus=1"}));
  EXPECT_TRUE(config.prestart_workers);
  EXPECT_EQ(config.num_gpus, 1);
}

TEST(ConfigFlagsTest, ABoolFlagTakesAnExplicitValue) {
  raylet::RayletConfig config;
  ASSERT_NO_THROW(ParseFlags(raylet::RayletConfigTable(), config, {"--prestart-workers=false"}));
  EXPECT_FALSE(config.prestart_workers);
  ASSERT_NO_THROW(ParseFlags(raylet::RayletConfigTable(), config, {"--prestart-workers", "yes"}));
  EXPECT_TRUE(config.prestart_workers);
}

// Issue 23: the daemons listen on the node's IP unless told to listen everywhere, and take the
// flags `orrery start --bind-all` passes them (local_cluster.cc).
TEST(ConfigFlagsTest, DaemonsListenOnTheNodeIpUnlessGivenBindAll) {
  raylet::RayletConfig raylet;
  EXPECT_FALSE(raylet.bind_all);
  ASSERT_NO_THROW(ParseFlags(raylet::RayletConfigTable(), raylet, {"--bind-all=true"}));
  EXPECT_TRUE(raylet.bind_all);

  gcs::GcsConfig gcs;
  EXPECT_FALSE(gcs.bind_all);
  EXPECT_EQ(gcs.host, "");  // detected at start: this host's IP, never every interface
  ASSERT_NO_THROW(ParseFlags(gcs::GcsConfigTable(), gcs, {"--host=10.0.0.4", "--bind-all=true"}));
  EXPECT_EQ(gcs.host, "10.0.0.4");
  EXPECT_TRUE(gcs.bind_all);
}

TEST(PrefixedFlagsTest, ConsumesOrreryFlagsAndLeavesTheUsersOwn) {
  raylet::RayletConfig config;
  std::vector<std::string> args = {"--orrery_num_cpus=3", "--my-flag",   "--orrery_log_level",
                                   "debug",               "positional", "--orrery_resources={\"x\": 1}"};
  ASSERT_OK(raylet::RayletConfigTable().ApplyPrefixedFlags(config, args));
  EXPECT_THAT(args, ElementsAre("--my-flag", "positional"));
  EXPECT_EQ(config.num_cpus, 3);
  EXPECT_EQ(config.log_level, "debug");
  EXPECT_EQ(config.resources, "{\"x\": 1}");
}

TEST(PrefixedFlagsTest, ABoolWithoutAValueIsTrue) {
  raylet::RayletConfig config;
  config.prestart_workers = false;
  std::vector<std::string> args = {"--orrery_prestart_workers", "--other"};
  ASSERT_OK(raylet::RayletConfigTable().ApplyPrefixedFlags(config, args));
  EXPECT_TRUE(config.prestart_workers);
  EXPECT_THAT(args, ElementsAre("--other"));

  config.prestart_workers = false;
  args = {"--orrery_prestart_workers"};
  ASSERT_OK(raylet::RayletConfigTable().ApplyPrefixedFlags(config, args));
  EXPECT_TRUE(config.prestart_workers);
  EXPECT_TRUE(args.empty());
}

TEST(PrefixedFlagsTest, AnUnknownKeyIsRejectedListingTheKnownOnes) {
  raylet::RayletConfig config;
  std::vector<std::string> args = {"--orrery_num_cpu=3", "--mine"};
  EXPECT_THAT(raylet::RayletConfigTable().ApplyPrefixedFlags(config, args),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       AllOf(HasSubstr("--orrery_num_cpu"), HasSubstr("known:"), HasSubstr("--orrery_num_cpus"),
                             HasSubstr("--orrery_prestart_workers"))));
  EXPECT_THAT(args, ElementsAre("--orrery_num_cpu=3", "--mine")) << "a failed parse leaves argv alone";
}

TEST(PrefixedFlagsTest, BadOrMissingValuesAreErrorsNamingTheFlag) {
  raylet::RayletConfig config;
  std::vector<std::string> args = {"--orrery_num_gpus=two"};
  EXPECT_THAT(raylet::RayletConfigTable().ApplyPrefixedFlags(config, args),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("--orrery_num_gpus")));
  args = {"--orrery_num_gpus"};
  EXPECT_THAT(raylet::RayletConfigTable().ApplyPrefixedFlags(config, args),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("needs a value")));
}

}  // namespace
}  // namespace orrery
