#include "src/raylet/memory_grpc_service.h"

#include <algorithm>

#include "absl/container/flat_hash_set.h"
#include "absl/strings/str_cat.h"

namespace orrery::raylet {

namespace {

constexpr int64_t kDefaultLimit = 10'000;

rpc::StoreObjectInfo::State ToProto(object_store::StoredObject::State state) {
  using State = object_store::StoredObject::State;
  switch (state) {
    case State::kCreated:
      return rpc::StoreObjectInfo::CREATED;
    case State::kSealed:
      return rpc::StoreObjectInfo::SEALED;
    case State::kSpilled:
      return rpc::StoreObjectInfo::SPILLED;
    case State::kRestoring:
      return rpc::StoreObjectInfo::RESTORING;
  }
  return rpc::StoreObjectInfo::CREATED;
}

// The answers still awaited for one call; everything runs on the raylet loop.
struct Gathering {
  rpc::ReplyCallback done;
  size_t waiting = 0;
};

}  // namespace

MemoryGrpcService::MemoryGrpcService(rpc::ServerCalls& calls, const NodeManager& node_manager,
                                     object_store::StoreServer& store, Options options)
    : calls_(calls), node_manager_(node_manager), store_(store), options_(std::move(options)) {}

void MemoryGrpcService::FillStore(int64_t limit, rpc::GetNodeMemoryReply& reply) {
  object_store::StoreCounters counters = store_.Counters();
  reply.set_store_capacity(static_cast<int64_t>(counters.capacity));
  reply.set_store_used_bytes(static_cast<int64_t>(counters.used_bytes));
  reply.set_store_num_objects(static_cast<int64_t>(counters.num_objects));
  reply.set_store_num_spilled(static_cast<int64_t>(counters.num_spilled));
  reply.set_store_spilled_bytes(static_cast<int64_t>(counters.spilled_bytes));
  reply.set_store_num_evicted(static_cast<int64_t>(counters.num_evicted));
  for (const object_store::StoredObject& object : store_.List(static_cast<size_t>(limit))) {
    rpc::StoreObjectInfo* info = reply.add_store_objects();
    info->set_object_id(object.id.Binary());
    if (!object.owner.IsNil()) info->set_owner_worker_id(object.owner.Binary());
    info->set_size(static_cast<int64_t>(object.size));
    info->set_state(ToProto(object.state));
    info->set_primary(object.primary);
    info->set_readers(object.readers);
  }
}

MemoryGrpcService::ProcessClient& MemoryGrpcService::ClientOf(const Worker& process) {
  std::unique_ptr<ProcessClient>& client = clients_[process.id];
  if (client == nullptr) {
    std::string address = absl::StrCat(options_.node_ip, ":", process.port);
    rpc::ClientOptions client_options{absl::StrCat(process.type == rpc::DRIVER ? "driver" : "worker", " at ", address),
                                      options_.token, options_.rpc, calls_.dispatcher()};
    client = std::make_unique<ProcessClient>(rpc::MakeChannel(address, client_options), std::move(client_options));
  }
  return *client;
}

void MemoryGrpcService::ForgetOtherClients(const std::vector<std::shared_ptr<const Worker>>& processes) {
  absl::flat_hash_set<WorkerId> alive;
  for (const auto& process : processes) alive.insert(process->id);
  absl::erase_if(clients_, [&alive](const auto& entry) { return !alive.contains(entry.first); });
}

grpc::ServerUnaryReactor* MemoryGrpcService::GetNodeMemory(grpc::CallbackServerContext* context,
                                                           const rpc::GetNodeMemoryRequest* request,
                                                           rpc::GetNodeMemoryReply* reply) {
  return calls_.Unary(
      context, request, reply,
      [this](const rpc::GetNodeMemoryRequest& q, rpc::GetNodeMemoryReply* r, rpc::ReplyCallback done) {
        if (q.limit() < 0) {
          return done(absl::InvalidArgumentError(absl::StrCat("limit must not be negative, got ", q.limit())));
        }
        const int64_t limit = q.limit() == 0 ? kDefaultLimit : q.limit();
        r->set_node_id(options_.node_id.Binary());
        FillStore(limit, *r);

        auto processes = node_manager_.RegisteredProcesses();
        std::sort(processes.begin(), processes.end(), [](const auto& a, const auto& b) { return a->id < b->id; });
        ForgetOtherClients(processes);
        auto gathering = std::make_shared<Gathering>(Gathering{std::move(done), processes.size()});
        if (processes.empty()) return gathering->done(absl::OkStatus());
        rpc::ListReferencesRequest ask;
        ask.set_limit(limit);
        rpc::CallOptions call;
        call.timeout_ms = kProcessTimeoutMs;
        for (const auto& process : processes) {
          // Elements of a repeated field keep their address as it grows.
          rpc::ProcessReferences* entry = r->add_processes();
          entry->set_worker_id(process->id.Binary());
          entry->set_pid(process->pid);
          entry->set_job_id(process->key.job_id.Binary());
          entry->set_is_driver(process->type == rpc::DRIVER);
          ClientOf(*process).Call(&rpc::ObjectReferenceService::Stub::async::ListReferences, ask, call,
                                  [gathering, entry](absl::StatusOr<rpc::ListReferencesReply> answer) {
                                    if (answer.ok()) {
                                      entry->mutable_references()->Swap(answer->mutable_references());
                                      entry->set_total(answer->total());
                                    } else {
                                      entry->set_error(std::string(answer.status().message()));
                                    }
                                    if (--gathering->waiting == 0) gathering->done(absl::OkStatus());
                                  });
        }
      });
}

}  // namespace orrery::raylet
