/// The Orrery API: everything a program needs, in one include.
///
///   #include <orrery/api.h>
///
///   int Add(int a, int b) { return a + b; }
///   ORRERY_REMOTE(Add);
///
///   int main(int argc, char** argv) {
///     orrery::Init();                                   // starts a local cluster, or joins one
///     auto sum = orrery::Task(Add).Remote(1, 2);
///     std::cout << *orrery::Get(sum) << "\n";           // 3
///     orrery::Shutdown();
///   }
///
/// Single-binary mode (the default): this program is also the job's worker program. Workers
/// run main() too, and orrery::Init() never returns in them: it serves tasks until the job ends.
/// So code before Init() runs in every worker; keep it cheap and start no threads there.
#pragma once

#include <list>
#include <memory>
#include <string>
#include <unordered_set>
#include <vector>

#include "orrery/actor.h"
#include "orrery/config.h"
#include "orrery/errors.h"
#include "orrery/export.h"
#include "orrery/internal/runtime.h"
#include "orrery/internal/serialization.h"
#include "orrery/metrics.h"
#include "orrery/object_ref.h"
#include "orrery/object_view.h"
#include "orrery/placement_group.h"
#include "orrery/runtime_env.h"
#include "orrery/remote.h"
#include "orrery/scheduling.h"
#include "orrery/version.h"

namespace orrery {

/// Starts (with no address) or joins the cluster. In a worker process, serves tasks and never
/// returns. Calling it again while initialized does nothing.
ORRERY_EXPORT void Init();
ORRERY_EXPORT void Init(Config& config);
/// As Init(config), with `--orrery_<setting>=value` flags from argv overriding `config` (other
/// flags are the program's own and are left alone).
ORRERY_EXPORT void Init(Config& config, int argc, char** argv);
/// Leaves the cluster, and stops it if Init() started it. Init() may be called again after.
ORRERY_EXPORT void Shutdown();
ORRERY_EXPORT bool IsInitialized();

namespace internal {
/// In a worker process (started by a raylet), serves tasks and never returns; elsewhere does
/// nothing. Init() calls it; a program whose main() must not run in workers (a test binary)
/// calls it first thing.
ORRERY_EXPORT void ServeIfWorker();
ORRERY_EXPORT void InitWithFlags(Config& config, int argc, char** argv, bool accept_ray_flags);
}  // namespace internal

/// Stores a value in the cluster; the caller owns it.
template <typename T>
ObjectRef<T> Put(const T& value) {
  std::string id = internal::RequireRuntime().Put(internal::Lend(value));
  return ObjectRef<T>(internal::AdoptTag{}, std::move(id));
}

template <typename T>
std::shared_ptr<T> Get(const ObjectRef<T>& ref) {
  return ref.Get();
}
template <typename T>
std::shared_ptr<T> Get(const ObjectRef<T>& ref, const int& timeout_ms) {
  return ref.Get(timeout_ms);
}

/// The values of `refs`, in their order.
template <typename T>
std::vector<std::shared_ptr<T>> Get(const std::vector<ObjectRef<T>>& refs, const int& timeout_ms = -1) {
  std::vector<std::string> ids;
  ids.reserve(refs.size());
  for (const auto& ref : refs) ids.push_back(ref.binary_id());
  auto values = internal::RequireRuntime().Get(ids, timeout_ms);
  std::vector<std::shared_ptr<T>> out;
  out.reserve(values.size());
  for (const auto& value : values) out.push_back(std::make_shared<T>(internal::Deserialize<T>(*value)));
  return out;
}

/// The values of the objects with these ids (as ObjectRef::ID() gives them, or in the other form).
template <typename T>
std::vector<std::shared_ptr<T>> Get(const std::vector<std::string>& ids, const int& timeout_ms = -1) {
  std::vector<ObjectRef<T>> refs;
  refs.reserve(ids.size());
  for (const auto& id : ids) refs.emplace_back(id);
  return Get(refs, timeout_ms);
}

template <typename T>
struct WaitResult {
  WaitResult() = default;
  WaitResult(std::list<ObjectRef<T>>&& ready_refs, std::list<ObjectRef<T>>&& unready_refs)
      : ready(std::move(ready_refs)), unready(std::move(unready_refs)) {}
  WaitResult(const std::vector<ObjectRef<T>>& ready_refs, const std::vector<ObjectRef<T>>& unready_refs)
      : ready(ready_refs.begin(), ready_refs.end()), unready(unready_refs.begin(), unready_refs.end()) {}

  std::list<ObjectRef<T>> ready;
  std::list<ObjectRef<T>> unready;
};

namespace internal {
ORRERY_EXPORT void ValidateWait(const std::vector<std::string>& ids, int num_objects);
}

/// Waits until `num_objects` of `refs` are ready or `timeout_ms` passes (-1: forever); never
/// throws on timeout. Both lists keep the input order. Throws OrreryException for num_objects <= 0,
/// num_objects > refs.size(), or duplicate refs.
template <typename T>
WaitResult<T> Wait(const std::vector<ObjectRef<T>>& refs, int num_objects, int timeout_ms) {
  std::vector<std::string> ids;
  ids.reserve(refs.size());
  for (const auto& ref : refs) ids.push_back(ref.binary_id());
  internal::ValidateWait(ids, num_objects);
  std::vector<bool> ready = internal::RequireRuntime().Wait(ids, num_objects, timeout_ms);
  WaitResult<T> result;
  for (size_t i = 0; i < refs.size(); ++i) (ready[i] ? result.ready : result.unready).push_back(refs[i]);
  return result;
}

}  // namespace orrery
