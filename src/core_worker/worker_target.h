// Where a process reaches another worker's CoreWorkerService. A worker on the caller's own node
// is reached over the Unix socket it serves in Linux's abstract namespace: no TCP stack and no
// TLS, as co-located peers need neither (the kernel tells the server who connects: only this
// user's processes are accepted, and every call still carries the token; docs/security.md).
// Any other worker is reached over its TCP port (mutual TLS on a TLS cluster).
#pragma once

#include <string>

#include "orrery/common.pb.h"
#include "src/common/id.h"

namespace orrery::core {

// The socket a worker serves for its node's processes, as GrpcServer takes it ("@NAME").
std::string LocalWorkerSocket(const WorkerId& worker);

// The gRPC target of `address` for a process on `local_node`.
std::string WorkerTarget(const rpc::WorkerAddress& address, const NodeId& local_node);

}  // namespace orrery::core
