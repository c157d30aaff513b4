// The sockets a process listens on or is connected by, read from /proc: those whose inodes are
// among the process's descriptors. For tests that check where daemons listen, that call every
// port they serve, and that check which transport a call took.
#pragma once

#include <arpa/inet.h>
#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace orrery::testing {

struct ListeningSocket {
  std::string address;  // "127.0.0.1", "::"
  int port = 0;
};

// The inodes of the sockets process `pid` holds open.
inline std::set<uint64_t> SocketInodes(pid_t pid) {
  std::set<uint64_t> inodes;
  std::error_code error;
  for (const auto& fd : std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd", error)) {
    std::string target = std::filesystem::read_symlink(fd.path(), error).string();
    if (target.rfind("socket:[", 0) == 0) inodes.insert(std::stoull(target.substr(8)));
  }
  return inodes;
}

// A /proc/net/tcp{,6} address ("0100007F", or 32 hex digits): each 32-bit word is printed as
// the kernel holds it, so parsing a word back as a number restores its bytes in memory. An IPv6
// socket bound to an IPv4-mapped address (as gRPC binds "127.0.0.1") listens on that IPv4
// address only: it reads as the IPv4 address.
inline std::string ProcAddressToText(const std::string& hex) {
  uint32_t words[4] = {};
  for (size_t i = 0; i < hex.size() / 8 && i < 4; ++i) words[i] = std::stoul(hex.substr(i * 8, 8), nullptr, 16);
  char text[INET6_ADDRSTRLEN] = {};
  inet_ntop(hex.size() == 8 ? AF_INET : AF_INET6, words, text, sizeof(text));
  constexpr std::string_view kMappedIpv4 = "::ffff:";
  std::string address = text;
  bool mapped = address.rfind(kMappedIpv4, 0) == 0 && address.find('.') != std::string::npos;
  return mapped ? address.substr(kMappedIpv4.size()) : address;
}

// A TCP socket among a process's descriptors, as /proc/net/tcp{,6} shows it.
struct TcpSocket {
  std::string state;  // the kernel's, in hex: "0A" listening, "01" established
  ListeningSocket local;
  int remote_port = 0;
};

// The TCP sockets among `inodes`.
inline std::vector<TcpSocket> TcpSockets(const std::set<uint64_t>& inodes) {
  std::vector<TcpSocket> sockets;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream file(table);
    std::string line;
    std::getline(file, line);  // the header
    while (std::getline(file, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state, queues, timer, retransmits, uid, timeout;
      uint64_t inode = 0;
      fields >> slot >> local >> remote >> state >> queues >> timer >> retransmits >> uid >> timeout >> inode;
      if (!inodes.contains(inode)) continue;
      size_t colon = local.find(':');
      TcpSocket socket{state,
                       {ProcAddressToText(local.substr(0, colon)), std::stoi(local.substr(colon + 1), nullptr, 16)}};
      socket.remote_port = std::stoi(remote.substr(remote.find(':') + 1), nullptr, 16);
      sockets.push_back(std::move(socket));
    }
  }
  return sockets;
}

// The listening TCP sockets among `inodes`.
inline std::vector<ListeningSocket> ListeningSockets(const std::set<uint64_t>& inodes) {
  constexpr const char* kListen = "0A";
  std::vector<ListeningSocket> sockets;
  for (const TcpSocket& socket : TcpSockets(inodes)) {
    if (socket.state == kListen) sockets.push_back(socket.local);
  }
  return sockets;
}

// The remote ports of the TCP connections process `pid` holds established.
inline std::vector<int> ConnectedTcpPortsOf(pid_t pid) {
  constexpr const char* kEstablished = "01";
  std::vector<int> ports;
  for (const TcpSocket& socket : TcpSockets(SocketInodes(pid))) {
    if (socket.state == kEstablished) ports.push_back(socket.remote_port);
  }
  return ports;
}

// The names ("@name") of the Unix sockets in Linux's abstract namespace process `pid` listens on.
inline std::vector<std::string> AbstractUnixSocketsOf(pid_t pid) {
  constexpr const char* kListening = "00010000";  // __SO_ACCEPTCON
  std::set<uint64_t> inodes = SocketInodes(pid);
  std::vector<std::string> names;
  std::ifstream file("/proc/net/unix");
  std::string line;
  std::getline(file, line);  // the header
  while (std::getline(file, line)) {
    std::istringstream fields(line);
    std::string slot, references, protocol, flags, type, state, path;
    uint64_t inode = 0;
    fields >> slot >> references >> protocol >> flags >> type >> state >> inode >> path;
    if (flags == kListening && inodes.contains(inode) && path.rfind('@', 0) == 0) names.push_back(path);
  }
  return names;
}

inline std::vector<ListeningSocket> ListeningSocketsOf(pid_t pid) { return ListeningSockets(SocketInodes(pid)); }

}  // namespace orrery::testing
