// tcp_loopback_gigabytes: one raw TCP stream on loopback, the floor object transfer between
// nodes is compared with (object_transfer_gigabytes should reach half of it).
#pragma once

#include <cstddef>

namespace orrery::bench {

// GB/s of `bytes` sent over one loopback TCP connection, writer and reader on two threads with
// 1 MiB buffers: the best of `repeats`.
double TcpLoopbackGigabytes(size_t bytes, int repeats);

}  // namespace orrery::bench
