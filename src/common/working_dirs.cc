#include "src/common/working_dirs.h"

#include <filesystem>

#include "absl/strings/str_cat.h"
#include "boost/asio/post.hpp"
#include "src/common/directory_package.h"
#include "src/common/log.h"
#include "src/common/status.h"

namespace orrery {

WorkingDirs::WorkingDirs(boost::asio::io_context& io, std::string root, Fetch fetch)
    : io_(io), root_(std::move(root)), fetch_(std::move(fetch)) {}

WorkingDirs::~WorkingDirs() { unpacker_.join(); }

void WorkingDirs::Ensure(const std::string& package, Done done) {
  if (auto it = ready_.find(package); it != ready_.end()) return done(it->second);
  auto& waiting = waiting_[package];
  waiting.push_back(std::move(done));
  if (waiting.size() > 1) return;  // fetching already
  fetch_(package, [this, package](absl::StatusOr<std::string> bytes) { OnFetched(package, std::move(bytes)); });
}

std::string WorkingDirs::Find(const std::string& package) const {
  auto it = ready_.find(package);
  return it == ready_.end() ? "" : it->second;
}

void WorkingDirs::Release(const std::string& package) {
  auto it = ready_.find(package);
  if (it == ready_.end()) return;  // not here, or still being fetched for a job about to use it
  std::string folder = std::move(it->second);
  ready_.erase(it);
  boost::asio::post(unpacker_, [package, folder = std::move(folder)] {
    std::error_code error;
    std::filesystem::remove_all(folder, error);
    if (error) {
      spdlog::warn("deleting the working_dir {} of package {}: {}", folder, package.substr(0, 12), error.message());
    } else {
      spdlog::info("working_dir package {} deleted from {} (no job here uses it)", package.substr(0, 12), folder);
    }
  });
}

void WorkingDirs::OnFetched(const std::string& package, absl::StatusOr<std::string> bytes) {
  if (!bytes.ok()) return Finish(package, Annotate(bytes.status(), "fetching the package from the GCS"));
  // The name is the content's hash: a package that does not match it is damaged, not used.
  boost::asio::post(unpacker_, [this, package, bytes = std::move(*bytes)] {
    absl::StatusOr<std::string> folder = absl::StrCat(root_, "/", package);
    if (Sha256Hex(bytes) != package) {
      folder = absl::DataLossError(absl::StrCat("the package fetched (", bytes.size(),
                                                " bytes) does not match its SHA-256 name"));
    } else if (absl::Status status = UnpackDirectory(bytes, *folder); !status.ok()) {
      folder = Annotate(status, "unpacking it");
    }
    boost::asio::post(io_, [this, package, folder = std::move(folder)]() mutable { Finish(package, std::move(folder)); });
  });
}

void WorkingDirs::Finish(const std::string& package, absl::StatusOr<std::string> folder) {
  if (folder.ok()) {
    spdlog::info("working_dir package {} unpacked at {}", package.substr(0, 12), *folder);
    ready_[package] = *folder;
  }
  auto callers = std::move(waiting_[package]);
  waiting_.erase(package);
  for (auto& done : callers) done(folder);
}

}  // namespace orrery
