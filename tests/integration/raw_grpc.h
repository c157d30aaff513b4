// gRPC as a peer that is not an Orrery process sees it: channels with credentials chosen by the
// test (no certificate, another CA's, the cluster's) and calls of any method by its path, with
// any token and any request bytes. For the tests of what daemons refuse.
#pragma once

#include <chrono>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>

#include "absl/synchronization/notification.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/security/credentials.h"
#include "src/rpc/token_gate.h"

namespace orrery::testing {

inline std::string ReadFile(const std::string& path) {
  std::ifstream file(path);
  return std::string(std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>());
}

// Client credentials with `cert_pem`/`key_pem` (none when empty), trusting the CA `ca_pem`, that
// accept any certificate of that CA whatever address it serves (as Orrery's own channels do,
// with the name every cluster certificate carries). Messages of any size may be sent.
inline std::shared_ptr<grpc::Channel> TlsChannel(const std::string& target, const std::string& ca_pem,
                                                 const std::string& cert_pem, const std::string& key_pem) {
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = ca_pem;
  ssl.pem_cert_chain = cert_pem;
  ssl.pem_private_key = key_pem;
  grpc::ChannelArguments args;
  args.SetSslTargetNameOverride("orrery.cluster");
  args.SetMaxSendMessageSize(-1);
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(ssl), args);
}

// A plain TCP channel, as to a --tls=off cluster's port. With `gate_token` each connection opens
// with the token gate's request carrying it, as Orrery's channels do (src/rpc/token_gate.h);
// without, it is a plain gRPC client that skips the gate. Messages of any size may be sent.
inline std::shared_ptr<grpc::Channel> PlainChannel(const std::string& target,
                                                   const std::optional<std::string>& gate_token) {
  grpc::ChannelArguments args;
  args.SetMaxSendMessageSize(-1);
  if (gate_token.has_value()) orrery::rpc::AddTokenGateArguments(args, *gate_token);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

// One call of any method (`path`: "/package.Service/Method"), unary or streaming alike: one
// request message of `body`, then the end of the requests; every reply is read until the status
// comes, or the deadline. `token` empty: none sent.
class OneRequestCall : public grpc::ClientBidiReactor<grpc::ByteBuffer, grpc::ByteBuffer> {
 public:
  grpc::Status Run(grpc::GenericStub& stub, const std::string& path, const std::string& token,
                   const std::string& body = "", std::chrono::milliseconds deadline = std::chrono::seconds(3)) {
    if (!token.empty()) context_.AddMetadata("x-orrery-token", token);
    context_.set_deadline(std::chrono::system_clock::now() + deadline);
    grpc::Slice slice(body);
    request_ = grpc::ByteBuffer(&slice, 1);
    stub.PrepareBidiStreamingCall(&context_, path, grpc::StubOptions(), this);
    StartWriteLast(&request_, grpc::WriteOptions());
    StartRead(&reply_);
    StartCall();
    done_.WaitForNotification();
    return status_;
  }

  void OnReadDone(bool ok) override {
    if (ok) StartRead(&reply_);
  }
  void OnDone(const grpc::Status& status) override {
    status_ = status;
    done_.Notify();
  }

 private:
  grpc::ClientContext context_;
  grpc::ByteBuffer request_;
  grpc::ByteBuffer reply_;
  grpc::Status status_;
  absl::Notification done_;
};

}  // namespace orrery::testing
