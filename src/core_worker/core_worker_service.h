// CoreWorkerServiceImpl: the CoreWorkerService a driver or worker serves. PushTasks uses the
// synchronous API, so each task stream has its own gRPC thread that runs the tasks; the other
// methods use the callback API and never block.
#pragma once

#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_set.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "orrery/core_worker.grpc.pb.h"
#include "src/common/id.h"
#include "src/rpc/auth.h"

namespace orrery::core {

class CoreWorker;

using MixedCoreWorkerService = rpc::CoreWorkerService::WithCallbackMethod_Exit<
    rpc::CoreWorkerService::WithCallbackMethod_GetWorkerInfo<rpc::CoreWorkerService::WithCallbackMethod_GetObject<
        rpc::CoreWorkerService::WithCallbackMethod_UpdateBorrowers<rpc::CoreWorkerService::WithCallbackMethod_PublishLogs<
            rpc::CoreWorkerService::WithCallbackMethod_CreateActor<
                rpc::CoreWorkerService::WithCallbackMethod_GetObjectLocations<
                    rpc::CoreWorkerService::WithCallbackMethod_AddObjectLocation<
                        rpc::CoreWorkerService::WithCallbackMethod_YieldIdleLeases<
                            rpc::CoreWorkerService::WithCallbackMethod_CheckLeases<
                                rpc::CoreWorkerService::Service>>>>>>>>>>;

class CoreWorkerServiceImpl final : public MixedCoreWorkerService {
 public:
  CoreWorkerServiceImpl(CoreWorker& core, const std::string& token);
  ~CoreWorkerServiceImpl() override;

  void WaitForExit() { exit_requested_.WaitForNotification(); }
  // Before the server shuts down: every GetObject still waiting (for a value, or for the GCS
  // while a lost copy is checked) is answered UNAVAILABLE now, and later ones at once. A
  // shutdown would otherwise free such a call while a callback still meant to answer it.
  void FinishPendingAnswers();

  grpc::ServerUnaryReactor* Exit(grpc::CallbackServerContext* context, const rpc::ExitRequest* request,
                                 rpc::ExitReply* reply) override;
  grpc::ServerUnaryReactor* GetWorkerInfo(grpc::CallbackServerContext* context, const rpc::GetWorkerInfoRequest* request,
                                          rpc::GetWorkerInfoReply* reply) override;
  grpc::Status PushTasks(grpc::ServerContext* context,
                         grpc::ServerReaderWriter<rpc::ResultBatch, rpc::TaskBatch>* stream) override;
  grpc::ServerUnaryReactor* GetObject(grpc::CallbackServerContext* context, const rpc::GetObjectRequest* request,
                                      rpc::GetObjectReply* reply) override;
  grpc::ServerUnaryReactor* UpdateBorrowers(grpc::CallbackServerContext* context,
                                            const rpc::UpdateBorrowersRequest* request,
                                            rpc::UpdateBorrowersReply* reply) override;
  // Runs the actor's factory on a thread of its own (it may take long, or Get objects).
  grpc::ServerUnaryReactor* CreateActor(grpc::CallbackServerContext* context, const rpc::CreateActorRequest* request,
                                        rpc::CreateActorReply* reply) override;
  grpc::ServerUnaryReactor* GetObjectLocations(grpc::CallbackServerContext* context,
                                               const rpc::GetObjectLocationsRequest* request,
                                               rpc::GetObjectLocationsReply* reply) override;
  grpc::ServerUnaryReactor* AddObjectLocation(grpc::CallbackServerContext* context,
                                              const rpc::AddObjectLocationRequest* request,
                                              rpc::AddObjectLocationReply* reply) override;
  // A raylet wants leases it granted back (see TaskSubmitter::YieldIdleLeases).
  grpc::ServerUnaryReactor* YieldIdleLeases(grpc::CallbackServerContext* context,
                                            const rpc::YieldIdleLeasesRequest* request,
                                            rpc::YieldIdleLeasesReply* reply) override;
  // A raylet asks which task leases it granted this process holds (TaskSubmitter::Holds).
  grpc::ServerUnaryReactor* CheckLeases(grpc::CallbackServerContext* context, const rpc::CheckLeasesRequest* request,
                                        rpc::CheckLeasesReply* reply) override;
  grpc::ServerUnaryReactor* PublishLogs(grpc::CallbackServerContext* context, const rpc::PublishLogsRequest* request,
                                        rpc::PublishLogsReply* reply) override;

 private:
  // Finishes `reactor` with UNAUTHENTICATED and returns true when the token is wrong.
  bool Refuse(grpc::CallbackServerContext* context, grpc::ServerUnaryReactor* reactor);
  // A GetObject call answered later, from a callback: whoever claims it first answers it. The
  // answer may come later still (after its refs' owners counted the asker), so a shutdown may
  // finish a claimed call first: only the first to finish writes the reply.
  struct PendingAnswer {
    rpc::GetObjectReply* reply;
    grpc::ServerUnaryReactor* reactor;
    std::atomic<bool> answered{false};
    std::atomic<bool> finished{false};
    bool Claim() { return !answered.exchange(true); }
  };
  // Null once FinishPendingAnswers ran (the call is then finished here).
  std::shared_ptr<PendingAnswer> Track(rpc::GetObjectReply* reply, grpc::ServerUnaryReactor* reactor);
  // Fills the reply of a claimed call with `fill` and finishes it, unless a shutdown finished it
  // first; then forgets it.
  void Finish(const std::shared_ptr<PendingAnswer>& pending, const std::function<void(rpc::GetObjectReply*)>& fill);
  // GetObject's answer: the value once it exists, or PENDING when the request's wait ends first.
  void AnswerWhenReady(const ObjectId& id, const rpc::GetObjectRequest& request,
                       const std::shared_ptr<PendingAnswer>& pending);

  CoreWorker& core_;
  const rpc::TokenAuthenticator auth_;
  absl::Notification exit_requested_;
  absl::Mutex pending_mu_;
  absl::flat_hash_set<std::shared_ptr<PendingAnswer>> pending_ ABSL_GUARDED_BY(pending_mu_);
  bool stopping_ ABSL_GUARDED_BY(pending_mu_) = false;
  std::thread creation_;
  // The actor this worker holds or is constructing ("<actor id>:<restart>"), and the answer to
  // its creation: a CreateActor for it again (the GCS retrying after a lost reply) waits for,
  // or gets, that same answer; the constructor runs once.
  absl::Mutex creation_mu_;
  std::string creation_key_ ABSL_GUARDED_BY(creation_mu_);
  std::optional<rpc::CreateActorReply> creation_reply_ ABSL_GUARDED_BY(creation_mu_);
  std::vector<std::pair<grpc::ServerUnaryReactor*, rpc::CreateActorReply*>> creation_waiters_
      ABSL_GUARDED_BY(creation_mu_);
};

}  // namespace orrery::core
