// ConfigTable: one table per component listing every setting once. From it come the daemon's
// kebab-case flag (--num-cpus), the ORRERY_<NAME> variable (ORRERY_NUM_CPUS), the --help text,
// the driver flag (--orrery_num_cpus) and the debug dump at start. Precedence: flag, then
// variable, then the default written in the component's config struct.
#pragma once

#include <functional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "src/common/config_value.h"

namespace orrery {

struct ConfigField {
  std::string name;       // snake_case key, e.g. "num_cpus"
  std::string help;
  std::string type_name;  // "int64", "string", ...
  bool secret = false;    // never printed (tokens)
  std::function<absl::Status(void* config, absl::string_view text)> set;
  std::function<std::string(const void* config)> get;

  std::string FlagName() const;  // "num-cpus"
  std::string EnvName() const;   // "ORRERY_NUM_CPUS"
};

// Reads environment variables; tests pass their own.
using EnvLookup = std::function<const char*(const char* name)>;
const char* ProcessEnv(const char* name);

absl::Status AnnotateField(const ConfigField& field, const absl::Status& status, absl::string_view source = {});
absl::Status ApplyPrefixedFlagsImpl(const std::vector<ConfigField>& fields, void* config,
                                    std::vector<std::string>& args, absl::string_view prefix);
std::string DumpFields(const std::vector<ConfigField>& fields, const void* config);

template <typename Config>
class ConfigTable {
 public:
  template <typename T>
  ConfigTable& Add(std::string name, T Config::*member, std::string help, bool secret = false) {
    return AddAccessor<T>(
        std::move(name), [member](Config& c) -> T& { return c.*member; }, std::move(help), secret);
  }

  // For settings inside a nested struct: `access` returns the field of a Config.
  template <typename T>
  ConfigTable& AddAccessor(std::string name, std::function<T&(Config&)> access, std::string help,
                           bool secret = false) {
    ConfigField field;
    field.name = std::move(name);
    field.help = std::move(help);
    field.type_name = ConfigTypeName<T>();
    field.secret = secret;
    field.set = [access](void* config, absl::string_view text) {
      return ParseConfigValue(text, &access(*static_cast<Config*>(config)));
    };
    field.get = [access](const void* config) {
      return FormatConfigValue(access(*const_cast<Config*>(static_cast<const Config*>(config))));
    };
    fields_.push_back(std::move(field));
    return *this;
  }

  const std::vector<ConfigField>& fields() const { return fields_; }

  // Sets one key from text; the error names the key and the bad value.
  absl::Status Set(Config& config, absl::string_view name, absl::string_view text) const {
    for (const auto& field : fields_) {
      if (field.name == name) return AnnotateField(field, field.set(&config, text));
    }
    return absl::NotFoundError("unknown setting: " + std::string(name));
  }

  absl::Status ApplyEnvironment(Config& config, const EnvLookup& env = ProcessEnv) const {
    for (const auto& field : fields_) {
      const char* value = env(field.EnvName().c_str());
      if (value == nullptr) continue;
      absl::Status status = field.set(&config, value);
      if (!status.ok()) return AnnotateField(field, status, field.EnvName());
    }
    return absl::OkStatus();
  }

  // Consumes `--orrery_<name>=value` and `--orrery_<name> value` from argv, leaving every other
  // argument (the user's own flags) in place. Never aborts on what it does not know.
  absl::Status ApplyPrefixedFlags(Config& config, std::vector<std::string>& args,
                                  absl::string_view prefix = "--orrery_") const {
    return ApplyPrefixedFlagsImpl(fields_, &config, args, prefix);
  }

  // "name = value" per line, secrets masked; logged at debug level by each daemon at start.
  std::string Dump(const Config& config) const { return DumpFields(fields_, &config); }

 private:
  std::vector<ConfigField> fields_;
};


}  // namespace orrery
