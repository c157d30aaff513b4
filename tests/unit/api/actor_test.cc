// The actor templates without a runtime: registration of factories and methods, what the
// registry's entries do when the executor calls them, and the checks Actor(), handle.Task()
// and the options make before they reach the runtime.
#include <cstring>
#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "orrery/api.h"

namespace orrery {
namespace {

using internal::Deserialize;
using internal::FunctionKind;
using internal::FunctionRegistry;
using internal::KeyOf;
using internal::RemoteFunction;
using internal::Serialize;
using internal::SerializedValue;
using ::testing::HasSubstr;

class Counter {
 public:
  explicit Counter(int start) : count_(start) {}
  static Counter* Create(int start) { return new Counter(start); }
  static Counter* Create(int a, int b) { return new Counter(a * b); }
  int Add(int x) { return count_ += x; }
  int Get() const { return count_; }
  void Reset() { count_ = 0; }
  int Scale(int factor) { return count_ *= factor; }
  int Scale(int factor, int offset) { return count_ = count_ * factor + offset; }
  int NotRegistered() { return 0; }

 private:
  int count_;
};

Counter* NewCounter() { return new Counter(0); }
Counter* NullCounter() { return nullptr; }
Counter* UnregisteredFactory() { return new Counter(0); }

ORRERY_REMOTE(ORRERY_FUNC(Counter::Create, int), ORRERY_FUNC(Counter::Create, int, int), NewCounter, NullCounter,
              &Counter::Add, &Counter::Get, &Counter::Reset, ORRERY_FUNC(Counter::Scale, int, int));

// Two unrelated classes whose first virtual methods have pointers of the same bytes (a vtable
// offset), and a derived class overriding its base's virtual method.
class Shape {
 public:
  virtual ~Shape() = default;
  virtual std::string Name() const { return "shape"; }
};
class Square : public Shape {
 public:
  static Square* Create() { return new Square(); }
  std::string Name() const override { return "square"; }
};
class Circle {
 public:
  virtual ~Circle() = default;
  virtual std::string Name() const { return "circle"; }
};

ORRERY_REMOTE(Square::Create, &Shape::Name, &Circle::Name);

std::shared_ptr<const SerializedValue> Arg(const SerializedValue& value) {
  return std::make_shared<const SerializedValue>(value);
}

const RemoteFunction& Registered(const std::string& name) {
  const RemoteFunction* function = FunctionRegistry::Instance().Find(name);
  if (function == nullptr) throw std::runtime_error("not registered: " + name);
  return *function;
}

std::string ActorIdBytes() {
  std::string id(16, '\0');
  for (size_t i = 0; i < id.size(); ++i) id[i] = static_cast<char>(0xa0 + i);
  return id;
}

TEST(ActorRegistrationTest, FactoriesAndMethodsAreRegisteredByNameAndKey) {
  const RemoteFunction& create = Registered("ORRERY_FUNC(Counter::Create, int)");
  EXPECT_EQ(create.kind, FunctionKind::kActorFactory);
  EXPECT_EQ(create.arity, 1u);
  EXPECT_TRUE(create.create);
  EXPECT_FALSE(create.invoke);
  Counter* (*create_one)(int) = &Counter::Create;
  EXPECT_EQ(FunctionRegistry::Instance().FindByKey(KeyOf(create_one)), &create);
  EXPECT_EQ(Registered("ORRERY_FUNC(Counter::Create, int, int)").arity, 2u);

  const RemoteFunction& add = Registered("Counter::Add");
  EXPECT_EQ(add.kind, FunctionKind::kActorMethod);
  EXPECT_EQ(add.arity, 1u);
  EXPECT_TRUE(add.invoke_method);
  EXPECT_FALSE(add.invoke);
  EXPECT_EQ(FunctionRegistry::Instance().FindByKey(KeyOf(&Counter::Add)), &add);

  const RemoteFunction& get = Registered("Counter::Get");  // a const method
  EXPECT_EQ(get.kind, FunctionKind::kActorMethod);
  EXPECT_EQ(get.arity, 0u);
  EXPECT_EQ(FunctionRegistry::Instance().FindByKey(KeyOf(&Counter::Get)), &get);

  // Same parameter and result types: the same signature hash, whatever the class.
  EXPECT_EQ(Registered("Shape::Name").signature_hash, Registered("Circle::Name").signature_hash);
  EXPECT_NE(add.signature_hash, get.signature_hash);
}

TEST(ActorRegistrationTest, MethodKeysIncludeTheClass) {
  // The premise: both pointers hold the same bytes (the same vtable slot).
  auto shape_name = &Shape::Name;
  auto circle_name = &Circle::Name;
  ASSERT_EQ(sizeof(shape_name), sizeof(circle_name));
  ASSERT_EQ(std::memcmp(&shape_name, &circle_name, sizeof(shape_name)), 0);
  // Yet both registered (above, without a clash) and each is found as itself.
  EXPECT_NE(KeyOf(shape_name), KeyOf(circle_name));
  EXPECT_EQ(FunctionRegistry::Instance().FindByKey(KeyOf(shape_name))->name, "Shape::Name");
  EXPECT_EQ(FunctionRegistry::Instance().FindByKey(KeyOf(circle_name))->name, "Circle::Name");
}

TEST(ActorRegistrationTest, CreateThenInvokeMethodsOnTheInstance) {
  void* instance = Registered("ORRERY_FUNC(Counter::Create, int)").create({Arg(Serialize(10))});
  ASSERT_NE(instance, nullptr);
  std::unique_ptr<Counter> owned(static_cast<Counter*>(instance));

  SerializedValue added = Registered("Counter::Add").invoke_method(instance, {Arg(Serialize(5))});
  EXPECT_EQ(Deserialize<int>(added), 15);
  SerializedValue scaled =
      Registered("ORRERY_FUNC(Counter::Scale, int, int)").invoke_method(instance, {Arg(Serialize(2)), Arg(Serialize(1))});
  EXPECT_EQ(Deserialize<int>(scaled), 31);
  EXPECT_EQ(Deserialize<int>(Registered("Counter::Get").invoke_method(instance, {})), 31);
  EXPECT_EQ(owned->Get(), 31);  // the calls changed this very object

  // A void method returns msgpack nil.
  SerializedValue reset = Registered("Counter::Reset").invoke_method(instance, {});
  EXPECT_EQ(reset.format, internal::Format::kMsgpack);
  EXPECT_EQ(reset.payload, internal::SerializeVoid().payload);
  EXPECT_EQ(owned->Get(), 0);

  void* product = Registered("ORRERY_FUNC(Counter::Create, int, int)").create({Arg(Serialize(3)), Arg(Serialize(4))});
  std::unique_ptr<Counter> owned_product(static_cast<Counter*>(product));
  EXPECT_EQ(owned_product->Get(), 12);
}

TEST(ActorRegistrationTest, ABaseMethodRunsTheOverride) {
  void* instance = Registered("Square::Create").create({});
  std::unique_ptr<Square> owned(static_cast<Square*>(instance));
  EXPECT_EQ(Deserialize<std::string>(Registered("Shape::Name").invoke_method(instance, {})), "square");
}

TEST(ActorRegistrationTest, BadArgumentsThrowArgumentError) {
  const RemoteFunction& create = Registered("ORRERY_FUNC(Counter::Create, int)");
  EXPECT_THROW(create.create({}), internal::ArgumentError);
  EXPECT_THROW(create.create({Arg(Serialize(std::string("ten")))}), internal::ArgumentError);
  Counter counter(1);
  const RemoteFunction& add = Registered("Counter::Add");
  EXPECT_THROW(add.invoke_method(&counter, {}), internal::ArgumentError);
  EXPECT_THROW(add.invoke_method(&counter, {Arg(Serialize(1)), Arg(Serialize(2))}), internal::ArgumentError);
  try {
    add.invoke_method(&counter, {Arg(Serialize(std::string("one")))});
    FAIL();
  } catch (const internal::ArgumentError& e) {
    EXPECT_THAT(e.what(), HasSubstr("argument 1 of Counter::Add"));
  }
  EXPECT_EQ(counter.Get(), 1);  // never called
  // A factory that returns null fails the creation instead of making a null actor.
  EXPECT_THROW(Registered("NullCounter").create({}), OrreryException);
}

TEST(ActorRegistrationTest, DuplicatesAreRefused) {
  using internal::RegisterRemoteFunctions;
  EXPECT_NO_THROW(RegisterRemoteFunctions("Counter::Add", &Counter::Add));  // the same again
  EXPECT_THROW(RegisterRemoteFunctions("Counter::Add", &Counter::Reset), OrreryException);
  EXPECT_THROW(RegisterRemoteFunctions("Counter::Plus", &Counter::Add), OrreryException);
  EXPECT_THROW(RegisterRemoteFunctions("NewCounter", &UnregisteredFactory), OrreryException);
  EXPECT_EQ(FunctionRegistry::Instance().Find("Counter::Plus"), nullptr);
}

TEST(ActorApiTest, UnregisteredFactoriesAndMethodsThrowAtOnce) {
  ASSERT_EQ(internal::CurrentRuntime(), nullptr);
  EXPECT_THROW(Actor(UnregisteredFactory), FunctionNotFoundError);
  ActorHandle<Counter> empty;
  EXPECT_THROW(empty.Task(&Counter::NotRegistered), FunctionNotFoundError);
  // Registered, but not as what is asked for.
  try {
    Task(NewCounter);
    FAIL();
  } catch (const FunctionNotFoundError& e) {
    EXPECT_THAT(e.what(), HasSubstr("Function not found"));
    EXPECT_THAT(e.what(), HasSubstr("NewCounter is registered as an actor factory"));
  }
  // A registered method on an empty handle: a different error.
  try {
    empty.Task(&Counter::Add);
    FAIL();
  } catch (const FunctionNotFoundError&) {
    FAIL() << "the method is registered";
  } catch (const OrreryException& e) {
    EXPECT_THAT(e.what(), HasSubstr("empty"));
  }
  EXPECT_THROW(empty.Kill(), OrreryException);
}

// Regression (issue 23): max_concurrency had no upper bound, and each unit of it is a thread in
// the actor's worker.
TEST(ActorApiTest, MaxConcurrencyAboveTheBoundIsRefusedBeforeRemote) {
  auto creator = Actor(NewCounter);
  EXPECT_EQ(&creator.SetMaxConcurrency(kMaxActorConcurrency), &creator);
  try {
    creator.SetMaxConcurrency(kMaxActorConcurrency + 1);
    FAIL() << "a max_concurrency above the bound was accepted";
  } catch (const OrreryException& e) {
    EXPECT_THAT(e.what(), HasSubstr(std::to_string(kMaxActorConcurrency)));
  }
}

TEST(ActorApiTest, CreatorOptionsAreValidated) {
  auto creator = Actor(NewCounter);
  EXPECT_THROW(creator.SetMaxRestarts(-2), OrreryException);
  EXPECT_THROW(creator.SetMaxConcurrency(0), OrreryException);
  EXPECT_THROW(creator.SetMaxTaskRetries(-2), OrreryException);
  EXPECT_EQ(&creator.SetMaxRestarts(-1)
                 .SetMaxRestarts(3)
                 .SetMaxConcurrency(4)
                 .SetMaxTaskRetries(-1)
                 .SetLifetime(ActorLifetime::DETACHED)
                 .SetName("counter")
                 .SetName("counter", "ns")
                 .SetResource("CPU", 1),
            &creator);
  // Resources are checked before the runtime is reached...
  try {
    Actor(NewCounter).SetResource("GPU", 2.5).Remote();
    FAIL();
  } catch (const OrreryException& e) {
    EXPECT_THAT(e.what(), HasSubstr("GPU"));
  }
  // ...and valid ones get as far as the (missing) runtime.
  try {
    creator.Remote();
    FAIL();
  } catch (const OrreryException& e) {
    EXPECT_THAT(e.what(), HasSubstr("not initialized"));
  }
}

TEST(ActorHandleTest, IdsBytesAndEquality) {
  ActorHandle<Counter> empty;
  EXPECT_TRUE(empty.Empty());
  EXPECT_EQ(empty.ID(), "");

  ActorHandle<Counter> handle(internal::AdoptTag{}, internal::ActorHandleIds{ActorIdBytes(), ""});
  EXPECT_FALSE(handle.Empty());
  EXPECT_EQ(handle.ID(), "a0a1a2a3a4a5a6a7a8a9aaabacadaeaf");
  // An id is taken in either form: as ID() prints it (hex), or as its bytes (Ray's form).
  EXPECT_EQ(internal::ActorIdOfText(handle.ID()), ActorIdBytes());
  EXPECT_EQ(internal::ActorIdOfText(ActorIdBytes()), ActorIdBytes());
  EXPECT_EQ(ActorHandle<Counter>(ActorIdBytes()), handle);
  EXPECT_EQ(ActorHandle<Counter>(handle.ID()), handle);
  EXPECT_THROW(internal::ActorIdOfText("abc"), OrreryException);
  EXPECT_THROW(internal::ActorIdOfText(std::string(32, 'z')), OrreryException);
  EXPECT_NE(handle, empty);

  ActorHandle<Counter> copy = handle;  // no runtime needed without a handle object
  EXPECT_EQ(copy, handle);
  ActorHandle<Counter> back = ActorHandle<Counter>::FromBytes(handle.ToBytes());
  EXPECT_EQ(back, handle);
  EXPECT_EQ(back.ID(), handle.ID());
  EXPECT_TRUE(back.ids().handle_ref.empty());
  EXPECT_TRUE(ActorHandle<Counter>::FromBytes(empty.ToBytes()).Empty());
  EXPECT_THROW(ActorHandle<Counter>::FromBytes("not a handle"), OrreryException);
  EXPECT_THROW(ActorHandle<Counter>::FromBytes(internal::Serialize(std::vector<int>{1}).payload), OrreryException);

  ActorHandle<Counter> moved = std::move(copy);
  EXPECT_EQ(moved, handle);
  EXPECT_TRUE(copy.Empty());  // NOLINT(bugprone-use-after-move): a moved-from handle is empty

  ActorHandle<Counter> bad(internal::AdoptTag{}, internal::ActorHandleIds{"short", ""});
  EXPECT_THROW(bad.ID(), OrreryException);
}

TEST(ActorHandleTest, TravelsAsATaskArgumentAndInsideValues) {
  ActorHandle<Counter> handle(internal::AdoptTag{}, internal::ActorHandleIds{ActorIdBytes(), ""});
  internal::TaskArgument argument = internal::MakeArgument<ActorHandle<Counter>>(handle);
  EXPECT_FALSE(argument.is_ref);
  EXPECT_EQ(argument.value.format, internal::Format::kMsgpack);
  EXPECT_EQ(Deserialize<ActorHandle<Counter>>(argument.value), handle);

  std::vector<ActorHandle<Counter>> handles = {handle, ActorHandle<Counter>()};
  auto back = Deserialize<std::vector<ActorHandle<Counter>>>(Serialize(handles));
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].ID(), handle.ID());
  EXPECT_TRUE(back[1].Empty());

  EXPECT_TRUE(Serialize(handle).contained_refs.empty());  // no handle object to borrow

  // A handle that holds a handle object needs the runtime to name the object's owner.
  ActorHandle<Counter> owning(internal::AdoptTag{}, internal::ActorHandleIds{ActorIdBytes(), std::string(20, 'o')});
  try {
    owning.ToBytes();
    FAIL();
  } catch (const OrreryException& e) {
    EXPECT_THAT(e.what(), HasSubstr("not initialized"));
  }
}

TEST(ActorApiTest, FunctionsOutsideARuntime) {
  EXPECT_FALSE(GetActor<Counter>("").has_value());  // no name: no lookup at all
  EXPECT_THROW(GetActor<Counter>("counter"), OrreryException);
  EXPECT_THROW(GetNamespace(), OrreryException);
  EXPECT_THROW(ExitActor(), OrreryException);
  EXPECT_THROW(WasCurrentActorRestarted(), OrreryException);
}

}  // namespace
}  // namespace orrery
