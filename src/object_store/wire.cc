#include "src/object_store/wire.h"

#include <poll.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>

#include "absl/strings/str_cat.h"
#include "src/common/status.h"

namespace orrery::object_store {

std::string EncodeFrame(const google::protobuf::MessageLite& message) {
  const size_t size = message.ByteSizeLong();
  std::string frame(kFrameHeaderBytes + size, '\0');
  for (size_t i = 0; i < kFrameHeaderBytes; ++i) frame[i] = static_cast<char>((size >> (8 * i)) & 0xff);
  message.SerializeWithCachedSizesToArray(reinterpret_cast<uint8_t*>(frame.data() + kFrameHeaderBytes));
  return frame;
}

uint32_t DecodeFrameLength(const uint8_t header[kFrameHeaderBytes]) {
  uint32_t length = 0;
  for (size_t i = 0; i < kFrameHeaderBytes; ++i) length |= static_cast<uint32_t>(header[i]) << (8 * i);
  return length;
}

namespace {

// A message of one buffer with room for one descriptor.
struct FdMessage {
  FdMessage(void* data, size_t size) : iov{data, size} {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;

  iovec iov;
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
};

}  // namespace

absl::Status SendWithFd(int sock, const std::string& bytes, int fd) {
  FdMessage message(const_cast<char*>(bytes.data()), bytes.size());
  msghdr& msg = message.msg;
  iovec& iov = message.iov;
  cmsghdr* cmsg = CMSG_FIRSTHDR(&msg);
  cmsg->cmsg_level = SOL_SOCKET;
  cmsg->cmsg_type = SCM_RIGHTS;
  cmsg->cmsg_len = CMSG_LEN(sizeof(int));
  std::memcpy(CMSG_DATA(cmsg), &fd, sizeof(int));
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::sendmsg(sock, &msg, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoStatus("sending the object store's descriptor", errno);
    sent += static_cast<size_t>(n);
    // The descriptor went with the first bytes; the rest is plain data.
    iov.iov_base = const_cast<char*>(bytes.data()) + sent;
    iov.iov_len = bytes.size() - sent;
    msg.msg_control = nullptr;
    msg.msg_controllen = 0;
  }
  return absl::OkStatus();
}

absl::StatusOr<int> ReceiveWithFd(int sock, uint8_t* out, size_t size) {
  int fd = -1;
  size_t received = 0;
  while (received < size) {
    FdMessage message(out + received, size - received);
    msghdr& msg = message.msg;
    ssize_t n = ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (fd >= 0) ::close(fd);
      return n < 0 ? ErrnoStatus("reading from the object store", errno)
                   : absl::UnavailableError("the object store closed the connection");
    }
    for (cmsghdr* cmsg = CMSG_FIRSTHDR(&msg); cmsg != nullptr; cmsg = CMSG_NXTHDR(&msg, cmsg)) {
      if (cmsg->cmsg_level == SOL_SOCKET && cmsg->cmsg_type == SCM_RIGHTS && fd < 0) {
        std::memcpy(&fd, CMSG_DATA(cmsg), sizeof(int));
      }
    }
    received += static_cast<size_t>(n);
  }
  return fd;
}

namespace {

absl::Status SocketError(const std::string& what, const char* doing, int error) {
  if (error == EAGAIN || error == EWOULDBLOCK) {
    return absl::DeadlineExceededError(absl::StrCat(what, ": timed out ", doing));
  }
  return absl::UnavailableError(absl::StrCat(what, ": ", doing, ": ", std::strerror(error)));
}

}  // namespace

absl::Status SendAll(int sock, const void* data, size_t size, const std::string& what) {
  const char* at = static_cast<const char*>(data);
  while (size > 0) {
    ssize_t n = ::send(sock, at, size, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SocketError(what, "sending", errno);
    at += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SendFileAll(int sock, int fd, uint64_t offset, size_t size, const std::string& what) {
  auto at = static_cast<off_t>(offset);
  while (size > 0) {
    ssize_t n = ::sendfile(sock, fd, &at, size);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SocketError(what, "sending", errno);
    if (n == 0) return absl::UnavailableError(absl::StrCat(what, ": the file ended early"));
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status SendFrame(int sock, const google::protobuf::MessageLite& message, const std::string& what) {
  std::string frame = EncodeFrame(message);
  return SendAll(sock, frame.data(), frame.size(), what);
}

namespace {

// ReceiveAll, also failing once `deadline` (steady clock) passes, however slowly bytes trickle
// in; without a deadline only the socket's SO_RCVTIMEO bounds each wait.
absl::Status ReceiveAllBefore(int sock, void* out, size_t size, const std::string& what, size_t* received,
                              std::optional<std::chrono::steady_clock::time_point> deadline) {
  char* at = static_cast<char*>(out);
  while (size > 0) {
    if (deadline.has_value()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*deadline - std::chrono::steady_clock::now());
      pollfd readable{sock, POLLIN, 0};
      int ready = left.count() > 0 ? ::poll(&readable, 1, static_cast<int>(left.count())) : 0;
      if (ready < 0 && errno == EINTR) continue;
      if (ready < 0) return SocketError(what, "waiting to receive", errno);
      if (ready == 0) return absl::DeadlineExceededError(absl::StrCat(what, ": the message did not arrive in time"));
    }
    ssize_t n = ::recv(sock, at, size, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return SocketError(what, "receiving", errno);
    if (n == 0) return absl::UnavailableError(absl::StrCat(what, ": the connection closed early"));
    at += n;
    size -= static_cast<size_t>(n);
    if (received != nullptr) *received += static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

absl::Status ReceiveFrameBefore(int sock, google::protobuf::MessageLite* message, const std::string& what,
                                uint32_t max_bytes, std::optional<std::chrono::steady_clock::time_point> deadline) {
  uint8_t header[kFrameHeaderBytes];
  ORRERY_RETURN_IF_ERROR(ReceiveAllBefore(sock, header, sizeof(header), what, nullptr, deadline));
  uint32_t length = DecodeFrameLength(header);
  if (length > max_bytes) {
    return absl::DataLossError(absl::StrCat(what, ": a frame of ", length, " bytes is not a message"));
  }
  std::string body(length, '\0');
  ORRERY_RETURN_IF_ERROR(ReceiveAllBefore(sock, body.data(), body.size(), what, nullptr, deadline));
  if (!message->ParseFromString(body)) return absl::DataLossError(absl::StrCat(what, ": an unreadable message"));
  return absl::OkStatus();
}

}  // namespace

absl::Status ReceiveAll(int sock, void* out, size_t size, const std::string& what, size_t* received) {
  return ReceiveAllBefore(sock, out, size, what, received, std::nullopt);
}

absl::Status ReceiveFrame(int sock, google::protobuf::MessageLite* message, const std::string& what) {
  return ReceiveFrameBefore(sock, message, what, kMaxFrameBytes, std::nullopt);
}

absl::Status ReceiveFrameWithin(int sock, google::protobuf::MessageLite* message, const std::string& what,
                                uint32_t max_bytes, int64_t within_ms) {
  return ReceiveFrameBefore(sock, message, what, max_bytes,
                            std::chrono::steady_clock::now() + std::chrono::milliseconds(within_ms));
}

}  // namespace orrery::object_store
