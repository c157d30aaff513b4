// Registers a ConfigTable's keys as CLI11 options, for the daemons' command lines.
#pragma once

#include "CLI/CLI.hpp"
#include "src/common/config_table.h"

namespace orrery {

// Adds --<kebab-name> for every key; each option's help names its variable and default.
// Call ApplyEnvironment first: a flag given on the command line then overrides the variable.
template <typename Config>
void AddConfigFlags(CLI::App& app, const ConfigTable<Config>& table, Config& config) {
  for (const ConfigField& field : table.fields()) {
    std::string help = field.help + "  [env " + field.EnvName() + ", default " +
                       (field.secret ? std::string("none") : field.get(&config)) + "]";
    Config* target = &config;
    const ConfigField* f = &field;
    auto apply = [target, f](const std::string& text) {
      absl::Status status = f->set(target, text);
      if (!status.ok()) throw CLI::ValidationError("--" + f->FlagName(), std::string(status.message()));
    };
    if (field.type_name == "bool") {
      app.add_option_function<std::string>("--" + field.FlagName(), apply, help)
          ->expected(0, 1)
          ->default_str("true");
    } else {
      app.add_option_function<std::string>("--" + field.FlagName(), apply, help)->type_name(field.type_name);
    }
  }
}

}  // namespace orrery
