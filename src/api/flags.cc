#include "src/api/flags.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "nlohmann/json.hpp"
#include "orrery/errors.h"
#include "spdlog/spdlog.h"
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

// --ray_runtime_env=JSON (Ray's serialized RuntimeEnv): env_vars and working_dir, the fields
// Orrery applies; another field is refused, naming it, as RuntimeEnv itself refuses it.
void ApplyRayRuntimeEnv(Config& config, const std::string& text) {
  nlohmann::json env;
  try {
    env = nlohmann::json::parse(text);
    if (!env.is_object()) throw OrreryException("not a JSON object");
    for (const auto& [field, value] : env.items()) {
      if (field == "env_vars") {
        for (const auto& [name, var] : value.items()) config.runtime_env.env_vars[name] = var.get<std::string>();
      } else if (field == "working_dir") {
        config.working_dir = value.get<std::string>();
      } else {
        throw OrreryException("field '" + field + "' is not supported (only env_vars and working_dir)");
      }
    }
  } catch (const std::exception& e) {
    throw OrreryException("Init: --ray_runtime_env: " + std::string(e.what()));
  }
}

// Ray's flags that have no Orrery setting of the same name: --ray_job_namespace (Orrery's
// namespace), --ray_runtime_env, and --ray_redis_password/--ray_redis_username (accepted and
// ignored: a driver never talks to the GCS's storage). Any other --ray_ flag the table does not
// know is warned about and dropped, as Ray's own parser leaves flags it does not define.
void TakeRayOnlyFlags(Config& config, std::vector<std::string>& args) {
  const std::string prefix = "--ray_";
  std::vector<std::string> kept;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, prefix)) {
      kept.push_back(arg);
      continue;
    }
    size_t eq = arg.find('=');
    std::string name = arg.substr(prefix.size(), eq == std::string::npos ? std::string::npos : eq - prefix.size());
    bool known = false;
    for (const ConfigField& field : Table().fields()) known = known || field.name == name;
    if (known) {
      kept.push_back(arg);
      continue;
    }
    auto value = [&]() -> std::string {
      if (eq != std::string::npos) return arg.substr(eq + 1);
      if (i + 1 < args.size()) return args[++i];
      throw OrreryException("Init: " + arg + " needs a value");
    };
    if (name == "job_namespace") {
      config.job_namespace = value();
    } else if (name == "runtime_env") {
      ApplyRayRuntimeEnv(config, value());
    } else if (name == "redis_password" || name == "redis_username") {
      value();
    } else {
      spdlog::warn("Init: ignoring the unknown flag {}", arg.substr(0, eq));
    }
  }
  args = std::move(kept);
}

}  // namespace

void ApplyFlags(Config& config, int argc, char** argv, bool accept_ray_flags) {
  std::vector<std::string> args(argv, argv + argc);
  TakeLifetimeFlag(config, args, "--orrery_");
  if (accept_ray_flags) {
    TakeLifetimeFlag(config, args, "--ray_");
    TakeRayOnlyFlags(config, args);
  }
  absl::Status status = Table().ApplyPrefixedFlags(config, args, "--orrery_");
  if (status.ok() && accept_ray_flags) status = Table().ApplyPrefixedFlags(config, args, "--ray_");
  if (!status.ok()) throw OrreryException("Init: " + std::string(status.message()));
}

}  // namespace orrery::api
