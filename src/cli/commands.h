// The verbs of the `orrery` command. Each Add*Command registers a subcommand whose callback
// stores the process exit code in `exit_code`.
#pragma once

#include <string>

#include "CLI/CLI.hpp"

namespace orrery::cli {

void AddStartCommand(CLI::App& app, int& exit_code);
void AddStopCommand(CLI::App& app, int& exit_code);
void AddGcsCommand(CLI::App& app, int& exit_code);
// `orrery cert status` and `orrery cert rotate-ca`.
void AddCertCommand(CLI::App& app, int& exit_code);
void AddStatusCommand(CLI::App& app, int& exit_code);
void AddJobCommand(CLI::App& app, int& exit_code);
// `orrery list`, `orrery get` and `orrery summary`.
void AddStateCommands(CLI::App& app, int& exit_code);
void AddTimelineCommand(CLI::App& app, int& exit_code);
void AddLogsCommand(CLI::App& app, int& exit_code);
void AddMemoryCommand(CLI::App& app, int& exit_code);
// `orrery metrics targets`.
void AddMetricsCommand(CLI::App& app, int& exit_code);
void AddDashboardCommand(CLI::App& app, int& exit_code);

// Prints "orrery <verb>: <message>" to stderr and returns 1.
int Fail(const std::string& verb, const std::string& message);

}  // namespace orrery::cli
