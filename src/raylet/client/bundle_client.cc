#include "src/raylet/client/bundle_client.h"

namespace orrery::raylet {

namespace {
using Stub = rpc::BundleService::Stub;

rpc::CallOptions Retried() {
  rpc::CallOptions options;
  options.retry = true;
  return options;
}
}  // namespace

GrpcBundleClient::GrpcBundleClient(const std::string& target, rpc::ClientOptions options)
    : client_(rpc::MakeChannel(target, options.rpc), options) {}

void GrpcBundleClient::PrepareBundles(const rpc::PrepareBundlesRequest& request,
                                      rpc::RpcCallback<rpc::PrepareBundlesReply> callback) {
  client_.Call(&Stub::async::PrepareBundles, request, Retried(), std::move(callback));
}

void GrpcBundleClient::CommitBundles(const rpc::CommitBundlesRequest& request,
                                     rpc::RpcCallback<rpc::CommitBundlesReply> callback) {
  client_.Call(&Stub::async::CommitBundles, request, Retried(), std::move(callback));
}

void GrpcBundleClient::CancelBundles(const rpc::CancelBundlesRequest& request,
                                     rpc::RpcCallback<rpc::CancelBundlesReply> callback) {
  client_.Call(&Stub::async::CancelBundles, request, Retried(), std::move(callback));
}

}  // namespace orrery::raylet
