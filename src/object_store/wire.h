// The store socket's framing (see proto/orrery/object_store.proto): a 4-byte little-endian
// length, then the message. Also the passing of the region's descriptor (SCM_RIGHTS).
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

}  // namespace orrery::object_store
