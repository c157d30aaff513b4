// The settings tables (config_table.h, config_flags.h): every daemon and driver reads its
// settings from flags and ORRERY_* variables through them. Input lines are arguments, and
// NAME=value lines variables, applied three ways to a table with a field of every type:
// ApplyEnvironment, ApplyPrefixedFlags (the driver's --orrery_ flags) and CLI11 (the daemons).
// Properties: a bad value is a Status (or CLI11's ParseError), never another exception; the
// user's own arguments are left in place and in order; a value that was set formats to text
// that sets the same value again.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "tests/fuzz/fuzz_util.h"

#include "src/common/config_flags.h"
#include "src/common/config_table.h"

namespace orrery::fuzz {
namespace {

struct Settings {
  bool flag = false;
  int32_t small = 0;
  int64_t large = 0;
  double ratio = 0.5;
  std::string name;
  std::vector<std::string> list;
  std::string token;
};

const ConfigTable<Settings>& Table() {
  static const auto* table = [] {
    auto* t = new ConfigTable<Settings>();
    t->Add("flag", &Settings::flag, "a bool")
        .Add("small", &Settings::small, "an int32")
        .Add("large", &Settings::large, "an int64")
        .Add("ratio", &Settings::ratio, "a double")
        .Add("name", &Settings::name, "a string")
        .Add("list", &Settings::list, "a list")
        .Add("token", &Settings::token, "a secret", /*secret=*/true);
    return t;
  }();
  return *table;
}

// Each field's value, formatted, sets the same value (formatting is a fixed point after one trip:
// a double prints with fewer digits than it may have been given).
void CheckRoundTrip(const Settings& settings) {
  for (const ConfigField& field : Table().fields()) {
    const std::string text = field.get(&settings);
    Settings copy;
    FUZZ_CHECK(field.set(&copy, text).ok(), "a formatted value parses");
    FUZZ_CHECK(field.get(&copy) == text, "a formatted value parses to itself");
  }
  const std::string dump = Table().Dump(settings);
  FUZZ_CHECK(settings.token.empty() || dump.find("token = <hidden>") != std::string::npos, "a secret is never dumped");
}

void ApplyPrefixed(const std::vector<std::string>& args) {
  Settings settings;
  std::vector<std::string> rest = args;
  if (!Table().ApplyPrefixedFlags(settings, rest).ok()) return;
  // What is left is the user's arguments, in order: a subsequence of the input with no flag of ours.
  size_t at = 0;
  for (const std::string& arg : rest) {
    FUZZ_CHECK(arg.rfind("--orrery_", 0) != 0, "every --orrery_ flag is consumed");
    while (at < args.size() && args[at] != arg) ++at;
    FUZZ_CHECK(at < args.size(), "the user's arguments keep their order");
    ++at;
  }
  CheckRoundTrip(settings);
}

void ApplyEnvironment(const std::map<std::string, std::string>& env) {
  Settings settings;
  absl::Status status = Table().ApplyEnvironment(settings, [&env](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  });
  if (status.ok()) CheckRoundTrip(settings);
}

void ApplyCli(const std::vector<std::string>& args) {
  Settings settings;
  CLI::App app("fuzz");
  app.allow_extras();
  AddConfigFlags(app, Table(), settings);
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes argv back to front
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError&) {
    return;  // what a daemon prints as a usage error
  }
  CheckRoundTrip(settings);
}

}  // namespace
}  // namespace orrery::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orrery::fuzz;
  FuzzInput input(data, size);
  std::vector<std::string> args;
  std::map<std::string, std::string> env;
  while (!input.empty() && args.size() < 64) {
    std::string line = input.TakeLine();
    if (size_t eq = line.find('='); eq != std::string::npos && line.rfind("ORRERY_", 0) == 0) {
      env[line.substr(0, eq)] = line.substr(eq + 1);
    }
    args.push_back(std::move(line));
  }
  ApplyPrefixed(args);
  ApplyEnvironment(env);
  ApplyCli(args);
  return 0;
}
