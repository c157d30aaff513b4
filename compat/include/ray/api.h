/// Ray's C++ API over Orrery (target orrery::ray_compat): a program written against Ray's
/// <ray/api.h> builds unchanged, as C++17. What is covered, and each runtime difference:
/// docs/ray-compat.md.
///
///   #include <ray/api.h>
///   int Plus(int a, int b) { return a + b; }
///   RAY_REMOTE(Plus);
///   int main(int argc, char** argv) {
///     ray::RayConfig config;
///     ray::Init(config, argc, argv);                       // reads --ray_* (and --orrery_*) flags
///     std::cout << *ray::Get(ray::Task(Plus).Remote(1, 2));
///     ray::Shutdown();
///   }
#pragma once

// What Ray's <ray/api.h> brings in, directly or through its own headers: programs written
// against it use these without including them.
#include <unistd.h>

#include <algorithm>
#include <any>
#include <array>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <list>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include <boost/optional.hpp>
#include <msgpack.hpp>

#include "orrery/api.h"
#include "ray/api/either_optional.h"
#include "ray/api/function_manager.h"
#include "ray/api/logging.h"
#include "ray/api/metric.h"
#include "ray/api/msgpack_adaptor.h"
#include "ray/api/ray_config.h"
#include "ray/api/ray_exception.h"
#include "ray/api/runtime_env.h"
#include "ray/api/serializer.h"
#include "ray/api/type_traits.h"
#include "ray/api/xlang_function.h"

/// Registers remote functions, actor factories and methods, at namespace scope, with or without
/// a semicolon after it (as Ray's): RAY_REMOTE(Plus, Counter::FactoryCreate, &Counter::Add).
#define RAY_REMOTE(...) ORRERY_INTERNAL_REGISTER(#__VA_ARGS__, __VA_ARGS__);
/// One overload of a function, static factory or method, by its parameter types:
/// RAY_FUNC(Counter::FactoryCreate, int), RAY_FUNC(&Counter::Add, int), RAY_FUNC(Make) (none).
#define RAY_FUNC(f, ...) ::orrery::internal::Overload<__VA_ARGS__>::Of(f)

namespace ray {

namespace internal {
/// A program built against this header sees ids as Ray's API gives them, as their bytes
/// (ObjectRef::ID(), ActorHandle::ID(), PlacementGroup::GetID()), from before main() on; see
/// orrery/internal/id_text.h.
inline const bool kRayIdForm = ::orrery::internal::UseRayIdForm();

/// Ray's check of a task's or actor's resources (task_options.h): a name must not be empty, an
/// amount must be positive, and one above 1 whole. Throws RayException naming the resource.
inline void CheckTaskOptions(const std::unordered_map<std::string, double>& resources) {
  ::orrery::internal::ValidateResources(resources);
}
}  // namespace internal

using orrery::Actor;
using orrery::ExitActor;
using orrery::Get;
using orrery::GetNamespace;
using orrery::IsInitialized;
using orrery::ObjectRef;
using orrery::Put;
using orrery::Shutdown;
using orrery::Task;
using orrery::Wait;
using orrery::WaitResult;
using orrery::WasCurrentActorRestarted;

// Placement groups (Ray's task_options.h), with Ray's enum values.
using orrery::CreatePlacementGroup;
using orrery::GetAllPlacementGroups;
using orrery::GetPlacementGroup;
using orrery::GetPlacementGroupById;
using orrery::PlacementGroup;
using orrery::PlacementGroupCreationOptions;
using orrery::PlacementGroupState;
using orrery::PlacementStrategy;
using orrery::RemovePlacementGroup;
// Ray's PlacementGroupState is unscoped: ray::CREATED names a state as well.
using orrery::CREATED;
using orrery::PENDING;
using orrery::PREPARED;
using orrery::REMOVED;
using orrery::RESCHEDULING;
using orrery::UNRECOGNIZED;

/// IsXlang is Ray's flag for handles to actors of other languages (ActorHandleXlang here).
template <typename T, bool IsXlang = false>
using ActorHandle = orrery::ActorHandle<T>;

/// The named actor's handle, or none: converts to std::optional and to boost::optional (Ray's
/// declared type) alike.
template <typename T>
internal::EitherOptional<ActorHandle<T>> GetActor(const std::string& actor_name, const std::string& ray_namespace = "") {
  return orrery::GetActor<T>(actor_name, ray_namespace);
}

inline void Init(RayConfig& config, int argc, char** argv) {
  orrery::Config native = internal::ToOrrery(config);
  orrery::internal::InitWithFlags(native, argc, argv, /*accept_ray_flags=*/true);
}
inline void Init(RayConfig& config) { Init(config, 0, nullptr); }
inline void Init() {
  RayConfig config;
  Init(config);
}

}  // namespace ray
