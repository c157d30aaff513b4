// ReferenceListingService: the ObjectReferenceService every driver and worker serves, so that
// its raylet can show `orrery memory` what this process holds: each object it knows, why it
// keeps it (ObjectRefs, pending tasks, values containing it, borrowers) and where the value
// lies. Callback API: it reads the reference counter and memory store under their own locks
// and never blocks.
#pragma once

#include <atomic>
#include <string>

#include "orrery/memory.grpc.pb.h"

#include "src/core_worker/memory_store.h"
#include "src/core_worker/reference_counter.h"
#include "src/rpc/auth.h"

namespace orrery::core {

class ReferenceListingService final : public rpc::ObjectReferenceService::CallbackService {
 public:
  ReferenceListingService(const MemoryStore& store, const std::string& token)
      : store_(store), auth_("ObjectReferenceService", token) {}

  // The server starts before the reference counter exists (it needs the server's port): calls
  // are answered UNAVAILABLE until this is called.
  void Serve(const ReferenceCounter& references) { references_.store(&references); }

  grpc::ServerUnaryReactor* ListReferences(grpc::CallbackServerContext* context,
                                           const rpc::ListReferencesRequest* request,
                                           rpc::ListReferencesReply* reply) override;

 private:
  std::atomic<const ReferenceCounter*> references_{nullptr};
  const MemoryStore& store_;
  const rpc::TokenAuthenticator auth_;
};

}  // namespace orrery::core
