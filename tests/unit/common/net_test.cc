// Host addresses (src/common/net.h): parsing HOST:PORT, checking whether a port is free, Unix
// socket addresses.
#include "src/common/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace orrery {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::HasSubstr;

TEST(ParseHostPortTest, ParsesHostAndPort) {
  auto hp = ParseHostPort("10.0.0.1:6391");
  ASSERT_OK(hp);
  EXPECT_EQ(hp->host, "10.0.0.1");
  EXPECT_EQ(hp->port, 6391);
  EXPECT_EQ(hp->ToString(), "10.0.0.1:6391");

  auto named = ParseHostPort("head-node.local:1");
  ASSERT_OK(named);
  EXPECT_EQ(named->host, "head-node.local");
  EXPECT_EQ(named->port, 1);

  auto top = ParseHostPort("localhost:65535");
  ASSERT_OK(top);
  EXPECT_EQ(top->port, 65535);
}

TEST(ParseHostPortTest, RejectsAddressesWithoutHostOrPortQuotingThem) {
  for (const char* bad : {"10.0.0.1", "", ":6391", "10.0.0.1:"}) {
    EXPECT_THAT(ParseHostPort(bad), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("HOST:PORT"))) << bad;
  }
  EXPECT_THAT(ParseHostPort("nocolon"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("'nocolon'")));
}

TEST(ParseHostPortTest, RejectsPortsOutOfRangeOrNotNumbers) {
  for (const char* bad : {"host:0", "host:70000", "host:65536", "host:-1", "host:http", "host:12ab", "host:1.5"}) {
    EXPECT_THAT(ParseHostPort(bad), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1-65535"))) << bad;
  }
}

TEST(TcpPortFreeTest, APortSomeoneListensOnIsNotFree) {
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = 0;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  ASSERT_EQ(listen(fd, 1), 0);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  int port = ntohs(addr.sin_port);

  EXPECT_FALSE(TcpPortFree("127.0.0.1", port));
  close(fd);
  EXPECT_TRUE(TcpPortFree("127.0.0.1", port)) << "free again once the listener is gone";
}

// A listener bound as gRPC binds (SO_REUSEADDR), on 127.0.0.1: its port.
int ListenAsGrpcDoes(int* fd) {
  *fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  int on = 1;
  setsockopt(*fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof(on));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  if (bind(*fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(*fd, 1) != 0) return -1;
  socklen_t len = sizeof(addr);
  getsockname(*fd, reinterpret_cast<sockaddr*>(&addr), &len);
  return ntohs(addr.sin_port);
}

TEST(TcpPortFreeTest, APortListenedOnAsGrpcDoesIsNotFree) {
  int listener = -1;
  int port = ListenAsGrpcDoes(&listener);
  ASSERT_GT(port, 0);
  EXPECT_FALSE(TcpPortFree("0.0.0.0", port));
  close(listener);
}

// A server that closed a connection first (a GCS that crashed, or stopped while drivers were
// connected) leaves it in TIME_WAIT on its port for a minute: a new server may listen there at
// once, and so the port counts as free.
TEST(TcpPortFreeTest, APortWhoseClosedConnectionsLingerInTimeWaitIsFree) {
  int listener = -1;
  int port = ListenAsGrpcDoes(&listener);
  ASSERT_GT(port, 0);
  int client = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  inet_pton(AF_INET, "127.0.0.1", &addr.sin_addr);
  ASSERT_EQ(connect(client, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
  int served = accept(listener, nullptr, nullptr);
  ASSERT_GE(served, 0);
  close(served);  // the server's end closes first
  char byte;
  EXPECT_EQ(read(client, &byte, 1), 0);  // the client sees the end, and closes too
  close(client);
  close(listener);
  EXPECT_TRUE(TcpPortFree("0.0.0.0", port));
}

TEST(ListenTcpTest, PicksAFreePortAcceptsConnectionsAndABusyPortIsAlreadyExists) {
  absl::StatusOr<TcpListener> listener = ListenTcp("127.0.0.1", 0);
  ASSERT_OK(listener.status());
  EXPECT_GT(listener->port, 0);
  EXPECT_FALSE(TcpPortFree("127.0.0.1", listener->port));
  absl::StatusOr<int> client = ConnectTcp("127.0.0.1", listener->port, 5'000);
  ASSERT_OK(client.status());
  EXPECT_THAT(ListenTcp("127.0.0.1", listener->port),
              StatusIs(absl::StatusCode::kAlreadyExists,
                       HasSubstr("port " + std::to_string(listener->port) + " is already in use")));
  EXPECT_THAT(ListenTcp("not-an-address", 0), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not-an-address")));
  close(*client);
  close(listener->fd);
}

TEST(ListenHostTest, IsTheNodeIpUnlessBindingAll) {
  EXPECT_EQ(ListenHost("10.0.0.4", /*bind_all=*/false), "10.0.0.4");
  EXPECT_EQ(ListenHost("10.0.0.4", /*bind_all=*/true), "0.0.0.0");
}

// A head's free-port check looks at the address it will listen on: a port another program holds
// on another IP of the host does not stop it.
TEST(TcpPortFreeTest, APortListenedOnAnotherAddressIsFreeOnThisOne) {
  int listener = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  inet_pton(AF_INET, "127.0.0.2", &address.sin_addr);
  ASSERT_EQ(bind(listener, reinterpret_cast<sockaddr*>(&address), sizeof(address)), 0);
  ASSERT_EQ(listen(listener, 1), 0);
  socklen_t length = sizeof(address);
  ASSERT_EQ(getsockname(listener, reinterpret_cast<sockaddr*>(&address), &length), 0);
  int port = ntohs(address.sin_port);
  EXPECT_FALSE(TcpPortFree("127.0.0.2", port));
  EXPECT_FALSE(TcpPortFree(kAllInterfaces, port));
  EXPECT_TRUE(TcpPortFree("127.0.0.1", port));
  close(listener);
}

TEST(CheckLocalAddressTest, AcceptsThisHostsAddressesAndNamesOthers) {
  EXPECT_OK(CheckLocalAddress("127.0.0.1"));
  EXPECT_OK(CheckLocalAddress(DefaultNodeIp()));
  // A documentation address (TEST-NET-1): never one of this host's.
  EXPECT_THAT(CheckLocalAddress("192.0.2.1"),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("192.0.2.1 is not an address of this host")));
  EXPECT_THAT(CheckLocalAddress("not-an-ip"), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("not-an-ip")));
}

TEST(DefaultNodeIpTest, IsAnIpv4Address) {
  std::string ip = DefaultNodeIp();
  in_addr parsed;
  EXPECT_EQ(inet_pton(AF_INET, ip.c_str(), &parsed), 1) << ip;
  EXPECT_NE(ip, "0.0.0.0");
}

// A path binds as a file, "@NAME" in the abstract namespace (found by its exact bytes), and one
// that does not fit sun_path is refused with the limit, not cut short.
TEST(MakeUnixAddressTest, BindsAPathAndAnAbstractNameAndRefusesOneTooLong) {
  std::string path = "/tmp/orrery-net-test-" + std::to_string(getpid()) + ".sock";
  std::string abstract = "@orrery-net-test-" + std::to_string(getpid());
  for (const std::string& socket_name : {path, abstract}) {
    absl::StatusOr<UnixAddress> address = MakeUnixAddress(socket_name);
    ASSERT_OK(address.status());
    int listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    ASSERT_EQ(bind(listener, address->get(), address->length), 0) << socket_name << ": " << strerror(errno);
    ASSERT_EQ(listen(listener, 1), 0);
    int client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    EXPECT_EQ(connect(client, address->get(), address->length), 0) << socket_name << ": " << strerror(errno);
    close(client);
    close(listener);
  }
  EXPECT_TRUE(std::filesystem::exists(path));
  std::filesystem::remove(path);
  // The abstract name is exactly its bytes: a longer one is another socket.
  absl::StatusOr<UnixAddress> longer = MakeUnixAddress(abstract + "x");
  ASSERT_OK(longer.status());
  int client = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  EXPECT_NE(connect(client, longer->get(), longer->length), 0);
  close(client);

  EXPECT_THAT(MakeUnixAddress("/" + std::string(107, 'x')),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("must have 1 to 107 bytes")));
  EXPECT_THAT(MakeUnixAddress(""), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_OK(MakeUnixAddress("/" + std::string(106, 'x')).status());
}

}  // namespace
}  // namespace orrery
