// The names of dead nodes' certificates (RefuseCertificatesNamed, auth.h), shared through a file
// in a TLS directory: a raylet learns of node deaths from the GCS and writes them there, and the
// processes using its directory (its workers, drivers beside it) refuse them too, though they
// follow no node table of their own. docs/security.md, "A node declared dead".
#pragma once

#include <string>

namespace orrery::rpc {

// The file in a TLS directory: one name per line.
inline constexpr char kRefusedNamesFile[] = "refused_nodes";

// From now on every name this process refuses is also written to `path` (merged with what the
// file lists, by a rename). Called by the raylet for its TLS directory.
void PublishRefusedNamesTo(std::string path);

// From now on this process also refuses the names `path` lists, read again at most once a
// second while calls arrive. A missing file lists none. Set by UseTlsDir (cluster_tls.h).
void FollowRefusedNames(std::string path);

}  // namespace orrery::rpc
