// orrery: start and stop clusters, ask them how they are, and run jobs on them.
#include "orrery/version.h"
#include "src/cli/commands.h"
#include "src/common/log.h"

int main(int argc, char** argv) {
  // The CLI's own diagnostics only; daemons log to their session.
  spdlog::set_level(spdlog::level::warn);
  CLI::App app{"orrery: a distributed task-and-actor runtime for C++"};
  app.set_version_flag("--version", std::string("orrery ") + ORRERY_VERSION_STRING);
  app.require_subcommand(1);
  int exit_code = 0;
  orrery::cli::AddStartCommand(app, exit_code);
  orrery::cli::AddStopCommand(app, exit_code);
  orrery::cli::AddGcsCommand(app, exit_code);
  orrery::cli::AddCertCommand(app, exit_code);
  orrery::cli::AddStatusCommand(app, exit_code);
  orrery::cli::AddJobCommand(app, exit_code);
  orrery::cli::AddStateCommands(app, exit_code);
  orrery::cli::AddTimelineCommand(app, exit_code);
  orrery::cli::AddLogsCommand(app, exit_code);
  orrery::cli::AddMemoryCommand(app, exit_code);
  orrery::cli::AddMetricsCommand(app, exit_code);
  orrery::cli::AddDashboardCommand(app, exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return exit_code;
}
