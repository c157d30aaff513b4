#include "src/raylet/client/bundle_client.h"
#include "src/rpc/retried_call.h"

namespace orrery::raylet {

namespace {
using BundleStub = rpc::BundleService::Stub;
}  // namespace

GrpcBundleClient::GrpcBundleClient(const std::string& target, rpc::ClientOptions options)
    : client_(rpc::MakeChannel(target, options), options) {}

void GrpcBundleClient::PrepareBundles(const rpc::PrepareBundlesRequest& request,
                                      rpc::RpcCallback<rpc::PrepareBundlesReply> callback) {
  client_.Call(&BundleStub::async::PrepareBundles, request, rpc::RetriedCall(), std::move(callback));
}

void GrpcBundleClient::CommitBundles(const rpc::CommitBundlesRequest& request,
                                     rpc::RpcCallback<rpc::CommitBundlesReply> callback) {
  client_.Call(&BundleStub::async::CommitBundles, request, rpc::RetriedCall(), std::move(callback));
}

void GrpcBundleClient::CancelBundles(const rpc::CancelBundlesRequest& request,
                                     rpc::RpcCallback<rpc::CancelBundlesReply> callback) {
  client_.Call(&BundleStub::async::CancelBundles, request, rpc::RetriedCall(), std::move(callback));
}

}  // namespace orrery::raylet
