// The zygote: a job's worker program, started once by exec, that forks every further worker
// of that job on the raylet's request (~2.5 ms instead of ~12 ms for an exec). It runs before
// the program has started gRPC or any thread, because fork() is only safe then.
#pragma once

namespace orrery::internal {

// Runs the zygote loop on the raylet's `control_fd` (a SOCK_SEQPACKET socket). Returns only in
// a forked child, which is then a new worker with its environment and output set up. The zygote
// itself never returns: it exits when the raylet closes the socket, killing its children.
// If the process already has more than one thread it reports that and exits; the raylet then
// starts each worker by exec instead.
void RunZygote(int control_fd);

}  // namespace orrery::internal
