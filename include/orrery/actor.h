/// Actors: a stateful object living in one worker process, whose methods run there in turn.
///
///   class Counter {
///    public:
///     explicit Counter(int start) : count_(start) {}
///     static Counter* Create(int start) { return new Counter(start); }   // the factory
///     int Add(int x) { return count_ += x; }
///    private:
///     int count_;
///   };
///   ORRERY_REMOTE(Counter::Create, &Counter::Add);
///
///   orrery::ActorHandle<Counter> counter = orrery::Actor(Counter::Create).SetName("c").Remote(10);
///   orrery::ObjectRef<int> eleven = counter.Task(&Counter::Add).Remote(1);
///   auto same = orrery::GetActor<Counter>("c");          // std::optional<ActorHandle<Counter>>
///   counter.Kill();
///
/// The factory (a free or static function returning T*) and each method are registered with
/// ORRERY_REMOTE, under their source text, like remote functions. Calls made through one handle
/// run in the order they were made (on an actor with max concurrency 1). An actor that dies
/// restarts (its factory runs again) while SetMaxRestarts allows; once dead for good, Get of a
/// call to it throws ActorDiedError. A handle keeps an unnamed, non-detached actor alive: when
/// the last handle to it (in any process of the job) is gone, the actor ends.
#pragma once

#include <optional>
#include <string>
#include <type_traits>
#include <unordered_map>
#include <utility>

#include "msgpack.hpp"
#include "orrery/config.h"
#include "orrery/errors.h"
#include "orrery/export.h"
#include "orrery/internal/function_registry.h"
#include "orrery/internal/runtime.h"
#include "orrery/internal/serialization.h"
#include "orrery/object_ref.h"
#include "orrery/remote.h"

namespace orrery {

namespace internal {

// What a handle holds: the actor's ids, and one local reference to its handle object (when it
// has one), counted like an ObjectRef's: added on copy, removed on destruction.
class ActorReference {
 public:
  ActorReference() = default;
  // Takes over the reference the runtime holds for the caller (CreateActor).
  ActorReference(AdoptTag, ActorHandleIds ids) : ids_(std::move(ids)) {}
  ActorReference(const ActorReference& other) : ids_(other.ids_) { Acquire(); }
  ActorReference(ActorReference&& other) noexcept : ids_(std::exchange(other.ids_, ActorHandleIds{})) {}
  ActorReference& operator=(const ActorReference& other) {
    if (this != &other) {
      ActorReference copy(other);
      *this = std::move(copy);
    }
    return *this;
  }
  ActorReference& operator=(ActorReference&& other) noexcept {
    if (this != &other) {
      Release();
      ids_ = std::exchange(other.ids_, ActorHandleIds{});
    }
    return *this;
  }
  ~ActorReference() { Release(); }

  const ActorHandleIds& ids() const { return ids_; }

  // msgpack: [actor id, handle object id, its owner], all bin. The handle object is recorded
  // as a ref inside the value being packed, so whoever unpacks it borrows it.
  template <typename Packer>
  void Pack(Packer& packer) const {
    std::string owner;
    if (!ids_.handle_ref.empty()) {
      owner = RequireRuntime().OwnerOf(ids_.handle_ref);
      if (CurrentRefCollector().refs != nullptr) {
        CurrentRefCollector().refs->push_back(RefInfo{ids_.handle_ref, owner});
      }
    }
    packer.pack_array(3);
    const std::string* fields[] = {&ids_.actor_id, &ids_.handle_ref, &owner};
    for (const std::string* field : fields) {
      packer.pack_bin(static_cast<uint32_t>(field->size()));
      packer.pack_bin_body(field->data(), static_cast<uint32_t>(field->size()));
    }
  }
  // The reverse of Pack: borrows the handle object (if any) and holds a local ref to it.
  static ActorReference Unpack(const msgpack::object& object) {
    if (object.type != msgpack::type::ARRAY || object.via.array.size != 3) throw msgpack::type_error();
    for (uint32_t i = 0; i < 3; ++i) {
      if (object.via.array.ptr[i].type != msgpack::type::BIN) throw msgpack::type_error();
    }
    auto field = [&object](uint32_t i) {
      const msgpack::object_bin& bin = object.via.array.ptr[i].via.bin;
      return std::string(bin.ptr, bin.size);
    };
    ActorHandleIds ids{field(0), field(1)};
    if (!ids.handle_ref.empty()) RequireRuntime().Borrow(RefInfo{ids.handle_ref, field(2)});
    ActorReference out(AdoptTag{}, std::move(ids));
    out.Acquire();
    return out;
  }

 private:
  void Acquire() {
    if (ids_.handle_ref.empty()) return;
    if (Runtime* runtime = CurrentRuntime()) runtime->AddLocalRef(ids_.handle_ref);
  }
  void Release() {
    if (!ids_.handle_ref.empty()) {
      // After Shutdown() there is nothing to tell.
      if (Runtime* runtime = CurrentRuntime()) runtime->RemoveLocalRef(ids_.handle_ref);
    }
    ids_ = ActorHandleIds{};
  }

  ActorHandleIds ids_;
};

// An empty handle has no actor to call or kill.
ORRERY_EXPORT void RequireActor(const ActorHandleIds& ids);

// ActorCreation.lifetime for an ActorLifetime.
inline int LifetimeCode(ActorLifetime lifetime) { return lifetime == ActorLifetime::DETACHED ? 2 : 1; }

}  // namespace internal

template <typename F>
class ActorTaskCaller;

/// What handle.Task(&T::Method) returns: options, then Remote(args...), which returns the
/// call's ObjectRef at once. SetName names the call; SetMaxRetries sets how often this call is
/// sent again when the actor's process dies (instead of the actor's SetMaxTaskRetries);
/// SetResource and SetResources are accepted (as in Ray) and ignored: a method runs on the
/// resources its actor holds. The caller holds a reference to the actor, like its handle.
template <typename M>
class ActorTaskCaller : public internal::CallOptions<ActorTaskCaller<M>> {
  using Traits = internal::MethodTraits<M>;

 public:
  using Result = typename Traits::Result;
  using internal::CallOptions<ActorTaskCaller<M>>::SetMaxRetries;

  ActorTaskCaller(const internal::RemoteFunction* method, internal::ActorReference actor)
      : method_(method), actor_(std::move(actor)) {}

  /// Submits the call; calls made through one handle run in the order they were made.
  template <typename... Args>
  ObjectRef<Result> Remote(Args&&... args) {
    static_assert(sizeof...(Args) == Traits::kArity, "wrong number of arguments for this method");
    internal::TaskCall call = this->NewCall(*method_);
    call.args = Traits::template WithParams<internal::ArgumentBuilder>::Build(std::forward<Args>(args)...);
    std::string id = internal::RequireRuntime().SubmitActorTask(actor_.ids().actor_id, std::move(call));
    return ObjectRef<Result>(internal::AdoptTag{}, std::move(id));
  }

 private:
  const internal::RemoteFunction* method_;
  internal::ActorReference actor_;
};

/// A handle to an actor of class T: call its methods, kill it, pass it to tasks and other
/// actors (as an argument, a return value, or inside a value). Copies share the actor.
template <typename T>
class ActorHandle {
 public:
  /// An empty handle (Empty() is true).
  ActorHandle() = default;
  /// A handle holding `ids`, taking over the reference to the handle object the runtime gave.
  ActorHandle(internal::AdoptTag tag, internal::ActorHandleIds ids) : actor_(tag, std::move(ids)) {}
  /// A handle to the actor with this id (in either form ID() gives), as GetActor returns one: it does
  /// not keep the actor alive. Throws OrreryException for a string that is not an actor id.
  explicit ActorHandle(const std::string& id)
      : actor_(internal::AdoptTag{}, internal::ActorHandleIds{internal::ActorIdOfText(id), ""}) {}

  /// The actor's id: in hex as the CLI prints it (its 16 bytes in a program built against
  /// <ray/api.h>, as Ray's). "" for an empty handle.
  std::string ID() const { return internal::ActorIdText(actor_.ids().actor_id); }
  /// Marks the type (Ray's traits, is_actor_handle_v, detect it by this member).
  static bool IsActorHandle() { return true; }
  bool Empty() const { return actor_.ids().actor_id.empty(); }

  /// A caller for a method of T (or of a base of T) registered with ORRERY_REMOTE; throws
  /// FunctionNotFoundError at once for a method never registered, and OrreryException for an
  /// empty handle. A virtual method runs the actor's override. A base's method needs the base
  /// at the start of T (single inheritance; not a second base).
  template <typename M, typename = std::enable_if_t<std::is_member_function_pointer_v<M>>>
  ActorTaskCaller<M> Task(M method) const {
    using Class = typename internal::MethodTraits<M>::Class;
    static_assert(std::is_base_of_v<Class, T> || std::is_same_v<Class, T>,
                  "the method must belong to the actor's class or to a base class of it");
    // The worker calls the method on the factory's T* taken as a Class*: the base must start
    // the object. (A second base of multiple inheritance cannot be caught here.)
    static_assert(std::is_same_v<Class, T> || !std::is_polymorphic_v<T> || std::is_polymorphic_v<Class> ||
                      std::is_empty_v<Class>,
                  "a method of a non-polymorphic base of a polymorphic actor class cannot be called: "
                  "wrap it in a method of the actor's own class");
    const internal::RemoteFunction& registered =
        internal::FindRegistered(method, internal::FunctionKind::kActorMethod);
    internal::RequireActor(actor_.ids());
    return ActorTaskCaller<M>(&registered, actor_);
  }

  /// Kills the actor at once, for good: calls pending or made later raise ActorDiedError.
  void Kill() const { Kill(true); }
  /// As Kill(); with no_restart false, the actor restarts if its SetMaxRestarts budget allows.
  void Kill(bool no_restart) const {
    internal::RequireActor(actor_.ids());
    internal::RequireRuntime().KillActor(actor_.ids().actor_id, no_restart);
  }

  /// The serialized form (ToBytes), back into a handle. The bytes alone do not keep the actor
  /// alive; the handle made from them does.
  static ActorHandle FromBytes(const std::string& bytes) {
    internal::SerializedValue value;
    value.format = internal::Format::kMsgpack;
    value.payload = bytes;
    return internal::Deserialize<ActorHandle>(value);
  }
  std::string ToBytes() const {
    internal::CollectRefs none(nullptr);
    msgpack::sbuffer buffer;
    msgpack::pack(buffer, *this);
    return std::string(buffer.data(), buffer.size());
  }

  friend bool operator==(const ActorHandle& a, const ActorHandle& b) {
    return a.actor_.ids().actor_id == b.actor_.ids().actor_id;
  }
  friend bool operator!=(const ActorHandle& a, const ActorHandle& b) { return !(a == b); }

  /// The ids the runtime uses.
  const internal::ActorHandleIds& ids() const { return actor_.ids(); }

  // msgpack: see internal::ActorReference::Pack.
  template <typename Packer>
  void msgpack_pack(Packer& packer) const {
    actor_.Pack(packer);
  }
  void msgpack_unpack(const msgpack::object& object) { actor_ = internal::ActorReference::Unpack(object); }

 private:
  internal::ActorReference actor_;
};

/// The most methods one actor may run at once (SetMaxConcurrency's bound): each is a thread of
/// the actor's worker.
inline constexpr int kMaxActorConcurrency = 1000;

template <typename F>
class ActorCreator;

/// What Actor(factory) returns: options, then Remote(args...), which returns the actor's
/// handle at once (creation goes on in the background; if it fails, calls to the actor raise
/// ActorDiedError saying why).
template <typename T, typename... Params>
class ActorCreator<T* (*)(Params...)> : public internal::CallOptions<ActorCreator<T* (*)(Params...)>> {
  using Options = internal::CallOptions<ActorCreator<T* (*)(Params...)>>;

 public:
  using ActorType = T;

  explicit ActorCreator(const internal::RemoteFunction* factory) : factory_(factory) {}

  /// SetName(name): the actor's name in the job's namespace, for GetActor; unique there.
  /// SetResource(s): what the actor holds while it lives (default: {CPU: 1} to be placed, and
  /// nothing held after).
  using Options::SetName;
  /// SetPlacementGroup(group, bundle_index): the actor lives in that bundle (see remote.h).
  using Options::SetPlacementGroup;
  /// SetRuntimeEnv(env): the actor's worker runs with these environment variables on top of
  /// the job's (see runtime_env.h).
  using Options::SetRuntimeEnv;
  /// The actor's name in namespace `name_space`.
  ActorCreator& SetName(std::string name, std::string name_space) {
    this->name_ = std::move(name);
    name_space_ = std::move(name_space);
    return *this;
  }
  /// How many times the actor restarts after dying (default 0; -1: without limit).
  ActorCreator& SetMaxRestarts(int max_restarts) {
    if (max_restarts < -1) {
      throw OrreryException("SetMaxRestarts: must be -1 (infinite) or more, got " + std::to_string(max_restarts));
    }
    max_restarts_ = max_restarts;
    return *this;
  }
  /// How many methods run at once (default 1: one at a time, in order; more: a thread pool of
  /// that many threads). Throws OrreryException outside 1..kMaxActorConcurrency.
  ActorCreator& SetMaxConcurrency(int max_concurrency) {
    if (max_concurrency < 1 || max_concurrency > kMaxActorConcurrency) {
      throw OrreryException("SetMaxConcurrency: must be from 1 to " + std::to_string(kMaxActorConcurrency) + ", got " +
                            std::to_string(max_concurrency));
    }
    max_concurrency_ = max_concurrency;
    return *this;
  }
  /// Orrery extension: how many times a call cut short by the actor's death is run again once
  /// it restarts (default 0; -1: without limit).
  ActorCreator& SetMaxTaskRetries(int max_task_retries) {
    if (max_task_retries < -1) {
      throw OrreryException("SetMaxTaskRetries: must be -1 (infinite) or more, got " +
                            std::to_string(max_task_retries));
    }
    max_task_retries_ = max_task_retries;
    return *this;
  }
  /// Orrery extension: this actor's lifetime (default: Config::default_actor_lifetime).
  ActorCreator& SetLifetime(ActorLifetime lifetime) {
    lifetime_ = internal::LifetimeCode(lifetime);
    return *this;
  }

  /// Starts creating the actor; the factory runs with `args` in a worker. Throws
  /// OrreryException for invalid resources, or a name already taken in its namespace.
  template <typename... Args>
  ActorHandle<T> Remote(Args&&... args) {
    static_assert(sizeof...(Args) == sizeof...(Params), "wrong number of arguments for this actor factory");
    internal::ValidateResources(this->resources_);
    internal::ActorCreation creation;
    creation.factory_name = factory_->name;
    creation.signature_hash = factory_->signature_hash;
    creation.args = internal::ArgumentBuilder<Params...>::Build(std::forward<Args>(args)...);
    creation.name = this->name_;
    creation.name_space = name_space_;
    creation.resources = this->resources_;
    creation.strategy = this->strategy_;
    creation.placement_group_id = this->placement_group_id_;
    creation.bundle_index = this->bundle_index_;
    creation.env_vars = this->env_vars_;
    creation.max_restarts = max_restarts_;
    creation.max_task_retries = max_task_retries_;
    creation.max_concurrency = max_concurrency_;
    creation.lifetime = lifetime_;
    internal::ActorHandleIds ids = internal::RequireRuntime().CreateActor(std::move(creation));
    return ActorHandle<T>(internal::AdoptTag{}, std::move(ids));
  }

 private:
  const internal::RemoteFunction* factory_;
  std::string name_space_;
  int max_restarts_ = 0;
  int max_task_retries_ = 0;
  int max_concurrency_ = 1;
  int lifetime_ = 0;  // the job's default
};

/// A creator for an actor made by `factory` (a free or static function returning T*,
/// registered with ORRERY_REMOTE); throws FunctionNotFoundError at once if it is not.
template <typename T, typename... Params>
ActorCreator<T* (*)(Params...)> Actor(T* (*factory)(Params...)) {
  return ActorCreator<T* (*)(Params...)>(
      &internal::FindRegistered(factory, internal::FunctionKind::kActorFactory));
}

/// The live actor named `name` in namespace `name_space` (empty: the job's), or an empty
/// optional (also for name ""). The handle does not keep the actor alive.
template <typename T>
std::optional<ActorHandle<T>> GetActor(const std::string& name, const std::string& name_space) {
  if (name.empty()) return std::nullopt;
  std::string id = internal::RequireRuntime().GetNamedActor(name, name_space);
  if (id.empty()) return std::nullopt;
  return ActorHandle<T>(internal::AdoptTag{}, internal::ActorHandleIds{std::move(id), ""});
}
/// The live actor named `name` in the job's namespace, or an empty optional (also for "").
template <typename T>
std::optional<ActorHandle<T>> GetActor(const std::string& name) {
  return GetActor<T>(name, "");
}

/// The job's namespace: the same in the driver, its tasks and its actors.
ORRERY_EXPORT std::string GetNamespace();
/// Inside an actor method: ends the actor for good (no restart). The method stops there; its
/// result, and every call not yet run, raise ActorDiedError. It works by throwing an internal
/// signal (not a std::exception): do not swallow it with catch (...). Outside an actor it
/// throws OrreryException (ray::internal::RayException), as in Ray.
[[noreturn]] ORRERY_EXPORT void ExitActor();
/// Inside an actor: whether it was restarted (its factory ran more than once). False elsewhere.
ORRERY_EXPORT bool WasCurrentActorRestarted();

}  // namespace orrery
