// The framing of the store socket (see proto/orrery/object_store.proto) and of the raylet's
// object data socket (ObjectDataRequest): a 4-byte little-endian length, then the message.
// Also the passing of the region's descriptor (SCM_RIGHTS), and blocking whole-buffer I/O.
#pragma once

#include <cstdint>
#include <string>

#include "absl/status/statusor.h"
#include "google/protobuf/message_lite.h"

namespace orrery::object_store {

// Requests and replies are small (ids and offsets); anything longer is garbage.
constexpr uint32_t kMaxFrameBytes = 1 << 20;
constexpr size_t kFrameHeaderBytes = 4;

// The frame (header and body) of `message`.
std::string EncodeFrame(const google::protobuf::MessageLite& message);
uint32_t DecodeFrameLength(const uint8_t header[kFrameHeaderBytes]);

// Sends `bytes` on the Unix socket `sock` with `fd` attached. Blocking.
absl::Status SendWithFd(int sock, const std::string& bytes, int fd);
// Receives exactly `size` bytes from `sock` and the descriptor attached to them (-1 if none).
absl::StatusOr<int> ReceiveWithFd(int sock, uint8_t* out, size_t size);

// Blocking I/O of exactly `size` bytes. Errors: Unavailable (the peer closed or the socket
// failed), DeadlineExceeded (the socket's SO_RCVTIMEO/SO_SNDTIMEO passed); `what` names the
// peer in them.
absl::Status SendAll(int sock, const void* data, size_t size, const std::string& what);
// `received` (when given) counts the bytes that did arrive, also when it fails part-way.
absl::Status ReceiveAll(int sock, void* out, size_t size, const std::string& what, size_t* received = nullptr);
// Sends `size` bytes of the file `fd` from `offset` with sendfile(): the kernel hands the file's
// pages to the socket, with no copy through this process.
absl::Status SendFileAll(int sock, int fd, uint64_t offset, size_t size, const std::string& what);
// One framed message.
absl::Status SendFrame(int sock, const google::protobuf::MessageLite& message, const std::string& what);
absl::Status ReceiveFrame(int sock, google::protobuf::MessageLite* message, const std::string& what);
// The same from a peer not trusted yet: a frame longer than `max_bytes` is refused before its
// body is read (DataLoss), and the whole frame must arrive within `within_ms`, however slowly
// its bytes trickle in (DeadlineExceeded).
absl::Status ReceiveFrameWithin(int sock, google::protobuf::MessageLite* message, const std::string& what,
                                uint32_t max_bytes, int64_t within_ms);

}  // namespace orrery::object_store
