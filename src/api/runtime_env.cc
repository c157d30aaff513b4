#include "src/api/runtime_env.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "orrery/errors.h"
#include "orrery/runtime_env.h"
#include "src/common/log.h"
#include "src/common/process.h"
#include "src/common/runtime_env.h"

namespace orrery {

namespace internal {

void ValidateRuntimeEnv(const RuntimeEnv& env) {
  for (const auto& [name, value] : env.env_vars) {
    if (absl::Status status = ValidateEnvVarName(name); !status.ok()) throw OrreryException(std::string(status.message()));
  }
}

}  // namespace internal

namespace api {

namespace {

// The RPC limit leaves room for the envelope around a value of this size.
constexpr int64_t kLargestWorkingDir = 256LL << 20;
// Room to send the largest over a slow link (not the default deadline of small calls).
constexpr int64_t kUploadTimeoutMs = 120'000;

std::filesystem::path Canonical(const std::string& path) {
  std::error_code error;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(path, error);
  return error ? std::filesystem::path(path) : canonical;
}

}  // namespace

std::optional<DirectoryPackage> PrepareRuntimeEnv(const Config& config) {
  internal::ValidateRuntimeEnv(config.runtime_env);
  if (config.working_dir.empty()) return std::nullopt;
  if (config.working_dir_max_bytes <= 0 || config.working_dir_max_bytes > kLargestWorkingDir) {
    throw OrreryException(absl::StrCat("Config.working_dir_max_bytes must be between 1 and ", kLargestWorkingDir,
                                       " (256 MiB), got ", config.working_dir_max_bytes));
  }
  auto package = PackDirectory(config.working_dir, config.working_dir_max_bytes);
  if (!package.ok()) {
    std::string hint = absl::IsOutOfRange(package.status()) ? " (raise Config.working_dir_max_bytes, or leave "
                                                               "large data out of the working_dir)"
                                                             : "";
    throw OrreryException(absl::StrCat("Config.working_dir: ", package.status().message(), hint));
  }
  return std::move(*package);
}

void UploadWorkingDir(gcs::GrpcGcsClient& gcs, const DirectoryPackage& package, const std::string& address) {
  rpc::KvExistsRequest exists;
  exists.set_namespace_(kWorkingDirKvNamespace);
  exists.set_key(package.sha256_hex);
  auto found = gcs.client().CallSync(&rpc::GcsService::Stub::async::KvExists, exists);
  if (found.ok() && found->exists()) return;  // the same content, uploaded before
  rpc::KvPutRequest put;
  put.set_namespace_(kWorkingDirKvNamespace);
  put.set_key(package.sha256_hex);
  put.set_value(package.bytes);
  put.set_overwrite(false);
  rpc::CallOptions options;
  options.timeout_ms = kUploadTimeoutMs;
  auto stored = gcs.client().CallSync(&rpc::GcsService::Stub::async::KvPut, put, options);
  if (!stored.ok()) {
    throw OrreryException(absl::StrFormat("Config.working_dir: uploading its package (%.1f MiB) to the GCS at %s: %s",
                                          package.bytes.size() / 1048576.0, address, stored.status().message()));
  }
  spdlog::info("working_dir package {} uploaded ({} bytes)", package.sha256_hex, package.bytes.size());
}

void ApplyRuntimeEnv(const Config& config, const std::optional<DirectoryPackage>& package, rpc::JobConfig& job) {
  for (const auto& [name, value] : config.runtime_env.env_vars) (*job.mutable_env())[name] = value;
  if (!package.has_value()) return;
  job.set_working_dir_package(package->sha256_hex);
  if (job.worker_command().empty()) return;
  std::filesystem::path program = Canonical(job.worker_command(0));
  std::filesystem::path relative = program.lexically_relative(Canonical(config.working_dir));
  if (!relative.empty() && *relative.begin() != "..") job.set_worker_command(0, relative.string());
}

std::vector<std::string> CodeSearchPath(const Config& config) {
  std::vector<std::string> paths;
  for (const std::string& path : config.code_search_path) {
    bool resolve_here = config.working_dir.empty() && !path.empty() && path[0] != '/';
    paths.push_back(resolve_here ? std::filesystem::absolute(path).string() : path);
  }
  return paths;
}

}  // namespace api
}  // namespace orrery
