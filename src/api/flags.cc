#include "src/api/flags.h"

#include "absl/strings/ascii.h"
#include "orrery/errors.h"
#include "src/common/config_table.h"

namespace orrery::api {

namespace {

const ConfigTable<Config>& Table() {
  static const ConfigTable<Config>* table = [] {
    auto* t = new ConfigTable<Config>();
    t->Add("address", &Config::address, "HOST:PORT of the cluster's GCS; empty starts a local cluster")
        .Add("token", &Config::token, "the cluster token", /*secret=*/true)
        .Add("tls", &Config::tls, "speak mutual TLS with the cluster (false: only on a network you trust)")
        .Add("local_mode", &Config::local_mode, "run everything in this process, without daemons (for debugging)")
        .Add("code_search_path", &Config::code_search_path, "shared libraries holding remote functions")
        .Add("working_dir", &Config::working_dir, "a folder shipped to every node; the job's workers start in it")
        .Add("working_dir_max_bytes", &Config::working_dir_max_bytes, "the largest working_dir Init() accepts, packed")
        .Add("head_args", &Config::head_args, "flags for the local cluster Init() starts")
        .Add("namespace", &Config::job_namespace, "the job's namespace")
        .Add("temp_dir", &Config::temp_dir, "root of sessions on this host")
        .Add("log_level", &Config::log_level, "level of this process's runtime log")
        .Add("max_inline_object_bytes", &Config::max_inline_object_bytes,
             "values of at least this size go to the shared-memory object store")
        .Add("object_store_full_wait_ms", &Config::object_store_full_wait_ms,
             "how long a Put waits for room in a full object store")
        .Add("max_lineage_bytes", &Config::max_lineage_bytes,
             "lineage each process keeps to make lost objects again; past it the oldest goes")
        .Add("task_events", &Config::task_events, "record task events (orrery list tasks, orrery timeline)");
    return t;
  }();
  return *table;
}

// ActorLifetime is an enum the table does not know: read here, before the table sees the rest.
void TakeLifetimeFlag(Config& config, std::vector<std::string>& args, const std::string& prefix) {
  const std::string key = prefix + "default_actor_lifetime=";
  for (auto it = args.begin(); it != args.end();) {
    if (it->rfind(key, 0) != 0) {
      ++it;
      continue;
    }
    std::string value = absl::AsciiStrToLower(it->substr(key.size()));
    if (value == "detached") {
      config.default_actor_lifetime = ActorLifetime::DETACHED;
    } else if (value == "non_detached" || value == "non-detached") {
      config.default_actor_lifetime = ActorLifetime::NON_DETACHED;
    } else {
      throw OrreryException("Init: " + key.substr(0, key.size() - 1) + " must be detached or non_detached, got '" +
                            value + "'");
    }
    it = args.erase(it);
  }
}

}  // namespace

void ApplyFlags(Config& config, int argc, char** argv, bool accept_ray_flags) {
  std::vector<std::string> args(argv, argv + argc);
  TakeLifetimeFlag(config, args, "--orrery_");
  if (accept_ray_flags) TakeLifetimeFlag(config, args, "--ray_");
  absl::Status status = Table().ApplyPrefixedFlags(config, args, "--orrery_");
  if (status.ok() && accept_ray_flags) status = Table().ApplyPrefixedFlags(config, args, "--ray_");
  if (!status.ok()) throw OrreryException("Init: " + std::string(status.message()));
}

}  // namespace orrery::api
