#include "src/gcs/client/package_upload.h"

#include "absl/strings/str_format.h"
#include "orrery/gcs.grpc.pb.h"
#include "src/common/log.h"
#include "src/common/runtime_env.h"
#include "src/common/status.h"

namespace orrery::gcs {

namespace {

// Room to send the largest package (256 MiB) over a slow link, not the default deadline.
constexpr int64_t kUploadTimeoutMs = 120'000;

}  // namespace

absl::Status UploadPackage(GrpcGcsClient& gcs, const DirectoryPackage& package) {
  rpc::KvExistsRequest exists;
  exists.set_namespace_(kWorkingDirKvNamespace);
  exists.set_key(package.sha256_hex);
  auto found = gcs.client().CallSync(&rpc::GcsService::Stub::async::KvExists, exists);
  if (found.ok() && found->exists()) return absl::OkStatus();
  rpc::KvPutRequest put;
  put.set_namespace_(kWorkingDirKvNamespace);
  put.set_key(package.sha256_hex);
  put.set_value(package.bytes);
  put.set_overwrite(false);
  rpc::CallOptions options;
  options.timeout_ms = kUploadTimeoutMs;
  auto stored = gcs.client().CallSync(&rpc::GcsService::Stub::async::KvPut, put, options);
  if (!stored.ok()) {
    return Annotate(stored.status(),
                    absl::StrFormat("uploading the working_dir package (%.1f MiB)", package.bytes.size() / 1048576.0));
  }
  spdlog::info("working_dir package {} uploaded ({} bytes)", package.sha256_hex, package.bytes.size());
  return absl::OkStatus();
}

}  // namespace orrery::gcs
