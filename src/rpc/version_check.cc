#include "absl/strings/string_view.h"
#include "src/rpc/version_check.h"

#include "absl/strings/str_cat.h"
#include "orrery/version.h"

namespace orrery::rpc {

absl::Status CheckVersion(absl::string_view who, absl::string_view peer_version) {
  if (peer_version == ORRERY_VERSION_STRING) return absl::OkStatus();
  return absl::FailedPreconditionError(absl::StrCat("version mismatch: ", who, " runs Orrery ",
                                                    peer_version.empty() ? "<none>" : peer_version,
                                                    ", this process runs Orrery ", ORRERY_VERSION_STRING));
}

}  // namespace orrery::rpc
