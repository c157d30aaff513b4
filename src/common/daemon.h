// What every Orrery daemon's main() does the same way: signals, token, flags, start-up report.
#pragma once

#include <string>

#include "CLI/CLI.hpp"
#include "absl/status/statusor.h"
#include "src/common/config_flags.h"

namespace orrery {

// Blocks SIGTERM, SIGINT and SIGHUP in the calling thread, and so in every thread it starts
// later, and ignores SIGPIPE. Call first thing in main(), before any thread exists.
void BlockTerminationSignals();

// Raises this process's soft limit on open files to its hard limit: a GCS of a large cluster,
// or a daemon under a flood of connections, needs more than the usual 1,024. Logs (and keeps
// going) if it cannot.
void RaiseOpenFileLimit();

// Waits for SIGTERM, SIGINT or SIGHUP; returns which.
int WaitForTerminationSignal();

// The token given directly, else the one in `token_file`; an error if neither is set.
absl::StatusOr<std::string> ResolveToken(const std::string& token, const std::string& token_file);

// Environment, then flags, into `config`. Returns an exit code to stop with (after --help or a
// bad flag), or -1 to go on.
template <typename Config>
int ParseDaemonFlags(CLI::App& app, const ConfigTable<Config>& table, Config& config, int argc, char** argv) {
  if (absl::Status status = table.ApplyEnvironment(config); !status.ok()) {
    fprintf(stderr, "%s\n", std::string(status.message()).c_str());
    return 2;
  }
  AddConfigFlags(app, table, config);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  return -1;
}

}  // namespace orrery
