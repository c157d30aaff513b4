// The verbs of the `orrery` command. Each Add*Command registers a subcommand whose callback
// stores the process exit code in `exit_code`.
#pragma once

#include <cstdint>
#include <string>

#include "CLI/CLI.hpp"

namespace orrery::cli {

void AddStartCommand(CLI::App& app, int& exit_code);
void AddStopCommand(CLI::App& app, int& exit_code);
void AddStatusCommand(CLI::App& app, int& exit_code);
void AddJobCommand(CLI::App& app, int& exit_code);

// Prints "orrery <verb>: <message>" to stderr and returns 1.
int Fail(const std::string& verb, const std::string& message);

// "42s", "5m 3s", "2h 7m": a span of time for a person.
std::string HumanDuration(int64_t ms);

}  // namespace orrery::cli
