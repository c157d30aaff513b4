// `orrery gcs backup PATH`: a consistent copy of a running head's GCS storage (a RocksDB
// checkpoint), written by the GCS on the head's host. A head started with
// `--gcs-storage rocksdb:PATH` on the copy restores the cluster as it was at the backup.
#include <cstdio>
#include <filesystem>

#include "orrery/gcs.grpc.pb.h"
#include "src/cli/cluster_connection.h"
#include "src/cli/commands.h"

namespace orrery::cli {

namespace {

struct BackupFlags {
  ClusterFlags cluster;
  std::string path;
};

// A checkpoint of a large storage takes a while (it flushes, then links or copies files).
constexpr int64_t kBackupTimeoutMs = 600'000;

int RunBackup(const BackupFlags& flags) {
  auto cluster = ConnectToCluster(flags.cluster);
  if (!cluster.ok()) return Fail("gcs backup", std::string(cluster.status().message()));
  rpc::BackupStorageRequest request;
  // Relative to here: the GCS resolves nothing against its own working directory.
  std::error_code ec;
  request.set_path(std::filesystem::absolute(flags.path, ec).lexically_normal().string());
  if (ec) return Fail("gcs backup", "bad path " + flags.path + ": " + ec.message());
  auto reply = CallGcs<rpc::GcsService>(*cluster, &rpc::GcsService::Stub::async::BackupStorage, request,
                                        kBackupTimeoutMs);
  if (!reply.ok()) return Fail("gcs backup", std::string(reply.status().message()));
  printf("Backed up the GCS storage of %s into %s (on the head's host).\n", cluster->address.c_str(),
         request.path().c_str());
  printf("To restore it: orrery start --head --gcs-storage %s\n", reply->storage().c_str());
  return 0;
}

}  // namespace

void AddGcsCommand(CLI::App& app, int& exit_code) {
  CLI::App* gcs = app.add_subcommand("gcs", "Operate on the head's GCS");
  gcs->require_subcommand(1);
  auto flags = std::make_shared<BackupFlags>();
  CLI::App* backup = gcs->add_subcommand(
      "backup", "Copy the GCS storage of a running head (RocksDB) into PATH on the head's host");
  backup->add_option("path", flags->path, "Where the copy goes: a directory that does not exist yet")->required();
  AddClusterFlags(*backup, flags->cluster);
  backup->callback([flags, &exit_code] { exit_code = RunBackup(*flags); });
}

}  // namespace orrery::cli
