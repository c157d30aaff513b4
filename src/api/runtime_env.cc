#include "src/api/runtime_env.h"

#include <cstdlib>
#include <filesystem>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "orrery/errors.h"
#include "orrery/runtime_env.h"
#include "src/common/log.h"
#include "src/common/process.h"
#include "src/common/runtime_env.h"
#include "src/gcs/client/package_upload.h"

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

std::filesystem::path Canonical(const std::string& path) {
  std::error_code error;
  std::filesystem::path canonical = std::filesystem::weakly_canonical(path, error);
  return error ? std::filesystem::path(path) : canonical;
}

}  // namespace

std::optional<std::string> AdoptJobSubmission(Config& config) {
  const char* names = std::getenv(kJobEnvNamesVariable);
  std::vector<std::string> job_names = absl::StrSplit(names == nullptr ? "" : names, ',', absl::SkipEmpty());
  for (const std::string& name : job_names) {
    const char* value = std::getenv(name.c_str());
    if (value != nullptr) config.runtime_env.env_vars.emplace(name, value);
  }
  const char* package = std::getenv(kJobWorkingDirPackageVariable);
  if (package == nullptr || *package == '\0' || !config.working_dir.empty()) return std::nullopt;
  config.working_dir = std::filesystem::current_path().string();
  return std::string(package);
}

std::optional<DirectoryPackage> PrepareRuntimeEnv(const Config& config, const std::optional<std::string>& submitted) {
  internal::ValidateRuntimeEnv(config.runtime_env);
  if (submitted.has_value()) return DirectoryPackage{"", *submitted};
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
  if (absl::Status status = gcs::UploadPackage(gcs, package); !status.ok()) {
    throw OrreryException(absl::StrCat("Config.working_dir: ", status.message(), " to the GCS at ", address));
  }
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
