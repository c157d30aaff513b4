// Every method of every gRPC service of Orrery's daemons, called with a request the fuzz input
// holds: the GCS (GcsServer: GcsService, PlacementGroupService, TaskEventService,
// JobSubmissionService), a raylet (Raylet: NodeManagerService, BundleService, LogService,
// NodeMemoryService) and a driver's core worker (CoreWorker: CoreWorkerService,
// ObjectReferenceService) run in this process, on loopback, over plain TCP with the cluster token,
// as `orrery start` and Init() would make them. Each call goes in by the daemon's real port:
// gRPC parses the bytes as the method's request, the token is checked, and the service's adapter
// hands the request to its handler, on the daemon's own threads.
//
// Properties, after every input:
//   - nothing crashes, trips ASan or UBSan, or leaks (at exit);
//   - the GCS, the raylet and the core worker each still answer a call of theirs within 5 s: no
//     request ends a daemon, blocks its event loop, or wedges its server.
//
// Input: the method's name ("GcsService.KvPut"), a newline, then the request's bytes. A line that
// names no method picks one by its hash, so every input calls something.
//
// Left out, each because it does what it is for, for anyone holding the token:
//   - JobSubmissionService.SubmitJob runs the request's command line;
//   - GcsService.AddJob registers a job whose config names the command its workers run, which
//     the raylet would then start for a lease of that job.
#include <stdlib.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "google/protobuf/descriptor.h"
#include "grpcpp/create_channel.h"
#include "grpcpp/generic/generic_stub.h"
#include "spdlog/spdlog.h"
#include "src/common/session.h"
#include "src/core_worker/core_worker.h"
#include "src/gcs/gcs_server.h"
#include "src/raylet/raylet.h"
#include "src/rpc/token_gate.h"
#include "tests/fuzz/fuzz_util.h"
#include "tests/integration/raw_grpc.h"
#include "tests/testing/daemon_services.h"

namespace orrery::fuzz {
namespace {

using google::protobuf::MethodDescriptor;
using testing::Daemon;
using testing::MethodPath;

constexpr char kToken[] = "fuzz-daemons-token";
constexpr auto kCallDeadline = std::chrono::milliseconds(300);
constexpr auto kAliveDeadline = std::chrono::seconds(5);

grpc::Status CallOnce(grpc::GenericStub& stub, const MethodDescriptor& method, const std::string& body,
                      std::chrono::milliseconds deadline) {
  testing::OneRequestCall call;
  return call.Run(stub, MethodPath(method), kToken, body, deadline);
}

// A daemon's port and a call it must always answer with OK (with an empty request).
struct Endpoint {
  std::unique_ptr<grpc::GenericStub> stub;
  const MethodDescriptor* probe = nullptr;
};

// The three daemons, started once: they are the system under test, and what a request changes
// in them (a node registered, a key put) stays for the next, as it would in a cluster.
class Daemons {
 public:
  Daemons() {
    char root[] = "/tmp/ofd-XXXXXX";  // short: the raylet's socket path must fit sun_path
    FUZZ_CHECK(mkdtemp(root) != nullptr, "a temporary root");
    root_ = root;
    auto session = CreateSession(root_);
    FUZZ_CHECK(session.ok(), "a session folder");

    gcs::GcsConfig gcs_config;
    gcs_config.host = "127.0.0.1";
    gcs_config.port = 0;
    gcs_config.session_dir = session->path();
    gcs_config.gcs_storage = "memory";
    gcs_ = std::make_unique<gcs::GcsServer>(gcs_config, kToken);
    absl::Status started = gcs_->Start();
    FUZZ_CHECK(started.ok(), "the GCS starts");
    std::string gcs_address = "127.0.0.1:" + std::to_string(gcs_->port());

    raylet::RayletConfig raylet_config;
    raylet_config.gcs_address = gcs_address;
    raylet_config.node_ip_address = "127.0.0.1";
    raylet_config.temp_dir = root_;
    raylet_config.session_dir = session->path();
    raylet_config.token = kToken;
    raylet_config.num_cpus = 1;
    raylet_config.num_gpus = 0;
    raylet_config.prestart_workers = false;
    raylet_config.object_store_memory = 32 << 20;
    raylet_config.memory_monitor_refresh_ms = 0;
    // A request may tell the raylet its node is dead (GcsService.UnregisterNode with its id): it
    // then stops serving, as it should; its probe is skipped from then on.
    raylet_ = std::make_unique<raylet::Raylet>(raylet_config, kToken, [this](const std::string&) { raylet_ended_ = true; });
    started = raylet_->Start();
    FUZZ_CHECK(started.ok(), "the raylet starts");

    core::CoreWorkerOptions driver;
    driver.is_driver = true;
    driver.job_id = JobIdFromInt(1);
    driver.node_id = raylet_->node_id();
    driver.node_ip = "127.0.0.1";
    driver.raylet_socket = "unix:" + raylet_->socket_path();
    driver.gcs_address = gcs_address;
    driver.token = kToken;
    driver_ = std::make_unique<core::CoreWorker>(driver);
    started = driver_->Start();
    FUZZ_CHECK(started.ok(), "the driver's core worker starts");

    gcs_endpoint_ = MakeEndpoint(gcs_address, "orrery.rpc.GcsService.GetClusterStatus");
    raylet_endpoint_ = MakeEndpoint("127.0.0.1:" + std::to_string(raylet_->port()),
                                    "orrery.rpc.NodeManagerService.HealthCheck");
    driver_endpoint_ = MakeEndpoint("127.0.0.1:" + std::to_string(driver_->address().port()),
                                    "orrery.rpc.CoreWorkerService.GetWorkerInfo");
  }

  // Stops them in the order a host would (the driver, its raylet, the GCS), so that what is left
  // at exit is what leaked.
  void Stop() {
    driver_->Stop();
    driver_.reset();
    raylet_->Stop("the fuzzer is done");
    raylet_.reset();
    gcs_->Stop();
    gcs_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
  }

  Endpoint& EndpointOf(const MethodDescriptor& method) {
    switch (*testing::DaemonOf(*method.service())) {
      case Daemon::kGcs:
        return gcs_endpoint_;
      case Daemon::kRaylet:
        return raylet_endpoint_;
      case Daemon::kCoreWorker:
        break;
    }
    return driver_endpoint_;
  }

  void CheckStillServing() {
    CheckAnswers(gcs_endpoint_, "the GCS still answers");
    if (!raylet_ended_) CheckAnswers(raylet_endpoint_, "the raylet still answers");
    CheckAnswers(driver_endpoint_, "the driver's core worker still answers");
  }

 private:
  static Endpoint MakeEndpoint(const std::string& target, const std::string& probe) {
    grpc::ChannelArguments args;
    args.SetMaxSendMessageSize(-1);
    // Past the plain ports' token gate, so that every input reaches gRPC's parser and the handlers.
    orrery::rpc::AddTokenGateArguments(args, kToken);
    Endpoint endpoint;
    endpoint.stub = std::make_unique<grpc::GenericStub>(
        grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args));
    endpoint.probe = google::protobuf::DescriptorPool::generated_pool()->FindMethodByName(probe);
    FUZZ_CHECK(endpoint.probe != nullptr, "the probe method exists");
    return endpoint;
  }

  static void CheckAnswers(Endpoint& endpoint, const char* what) {
    grpc::Status status = CallOnce(*endpoint.stub, *endpoint.probe, "",
                                   std::chrono::duration_cast<std::chrono::milliseconds>(kAliveDeadline));
    if (!status.ok()) std::fprintf(stderr, "%s: %d %s\n", what, status.error_code(), status.error_message().c_str());
    FUZZ_CHECK(status.ok(), what);
  }

  std::string root_;
  std::unique_ptr<gcs::GcsServer> gcs_;
  std::unique_ptr<raylet::Raylet> raylet_;
  std::atomic<bool> raylet_ended_{false};
  std::unique_ptr<core::CoreWorker> driver_;
  Endpoint gcs_endpoint_, raylet_endpoint_, driver_endpoint_;
};

Daemons* g_daemons = nullptr;
std::vector<const MethodDescriptor*>* g_methods = nullptr;

void StopDaemons() {
  if (g_daemons == nullptr) return;
  g_daemons->Stop();
  delete g_daemons;
  g_daemons = nullptr;
}

// The method the input's first line names, else one picked by its hash.
const MethodDescriptor* PickMethod(const std::vector<const MethodDescriptor*>& methods, const std::string& line) {
  for (const auto* method : methods) {
    if (line == method->service()->name() + "." + method->name()) return method;
  }
  return methods[std::hash<std::string>()(line) % methods.size()];
}

bool Fuzzed(const MethodDescriptor& method) {
  const std::string& name = method.full_name();
  return name != "orrery.rpc.JobSubmissionService.SubmitJob" && name != "orrery.rpc.GcsService.AddJob";
}

}  // namespace
}  // namespace orrery::fuzz

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  using namespace orrery::fuzz;
  // The daemons' logs would cost more than the calls; a finding is reported by the sanitizers.
  spdlog::set_level(spdlog::level::off);
  g_methods = new std::vector<const google::protobuf::MethodDescriptor*>();
  for (const auto* method : orrery::testing::AllMethods()) {
    // A service added later must be given its daemon in tests/testing/daemon_services.h.
    FUZZ_CHECK(orrery::testing::DaemonOf(*method->service()).has_value(), "every service has its daemon");
    if (Fuzzed(*method)) g_methods->push_back(method);
  }
  g_daemons = new Daemons();
  std::atexit(StopDaemons);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orrery::fuzz;
  FuzzInput input(data, size);
  const google::protobuf::MethodDescriptor* method = PickMethod(*g_methods, input.TakeLine());
  std::string body = input.TakeBytes(input.size());
  grpc::Status status = CallOnce(*g_daemons->EndpointOf(*method).stub, *method, body, kCallDeadline);
  // ORRERY_FUZZ_TRACE=1: what each call answered, to see what an input reaches.
  static const bool trace = std::getenv("ORRERY_FUZZ_TRACE") != nullptr;
  if (trace) {
    std::fprintf(stderr, "%s: %d %s\n", method->full_name().c_str(), status.error_code(), status.error_message().c_str());
  }
  g_daemons->CheckStillServing();
  return 0;
}
