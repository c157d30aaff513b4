// Actors the way Ray's cluster tests use them, through <ray/api.h> only: overloaded factories
// picked with RAY_FUNC, a named actor found with GetActor into boost::optional and
// std::optional, handles passed and returned, ids as their bytes (Ray's id classes read them),
// non-const reference parameters, Ray's exceptions, a namespace from --ray_job_namespace, and
// flags Orrery ignores (--ray_redis_password, an unknown --ray_ flag). RAYLOG in an actor
// writes to its worker's log (the test greps it).
#include <optional>

#include <ray/common/id.h>

#include "counter.h"
#include "expect.h"

int Return1() { return 1; }
int Plus1(int x) { return x + 1; }
std::string Exclaim(std::string& text) { return text += "!"; }
void ThrowTask() { throw std::logic_error("error"); }
// An actor named by its id's bytes (ActorHandle::ID(), as Ray's) in another process.
int Plus1ById(std::string actor_id) {
  return *ray::ActorHandle<Counter>(actor_id).Task(&Counter::Plus1).Remote().Get();
}
RAY_REMOTE(Return1, Plus1, Exclaim, ThrowTask, Plus1ById);

int main(int argc, char** argv) {
  ray::RayConfig config;
  config.redis_password_ = "5241590000000000";
  ray::Init(config, argc, argv);
  EXPECT(ray::IsInitialized());
  EXPECT(ray::GetNamespace() == "compat");

  EXPECT(*ray::Task(Plus1).Remote(ray::Task(Return1).Remote()).Get() == 2);
  EXPECT(*ray::Get(ray::Task(Exclaim).Remote("hello")) == "hello!");

  ray::ActorHandle<Counter> named =
      ray::Actor(RAY_FUNC(Counter::FactoryCreate)).SetMaxRestarts(1).SetName("named_actor").Remote();
  EXPECT(*named.Task(&Counter::Plus1).Remote().Get() == 1);
  boost::optional<ray::ActorHandle<Counter>> found = ray::GetActor<Counter>("named_actor");
  EXPECT(found);
  if (found) EXPECT(*found->Task(&Counter::Plus1).Remote().Get() == 2);
  std::optional<ray::ActorHandle<Counter>> found_std = ray::GetActor<Counter>("named_actor");
  EXPECT(found_std.has_value());
  EXPECT(!ray::GetActor<Counter>("not_exist_actor"));
  EXPECT(*named.Task(&Counter::GetNamespaceInActor).Remote().Get() == "compat");
  ray::ActorHandle<Counter> by_id(named.ID());
  EXPECT(by_id.ID() == named.ID());
  EXPECT(*by_id.Task(&Counter::Plus1).Remote().Get() == 3);
  // Ids are their bytes, as Ray's: Ray's id classes read them, and they name the same thing.
  EXPECT(named.ID().size() == ray::ActorID::Size());
  EXPECT(ray::ActorID::FromHex(ray::ActorID::FromBinary(named.ID()).Hex()).Binary() == named.ID());
  EXPECT(*ray::Task(Plus1ById).Remote(named.ID()).Get() == 4);
  auto put = ray::Put(42);
  EXPECT(put.ID().size() == ray::ObjectID::Size());
  ray::ObjectRef<int> by_object_id(ray::ObjectID::FromBinary(put.ID()).Binary());
  EXPECT(*by_object_id.Get() == 42);

  auto two = ray::Actor(RAY_FUNC(Counter::FactoryCreate, int, int)).Remote(6, 0);
  EXPECT(*two.Task(&Counter::Add).Remote(ray::Task(Return1).Remote()).Get() == 7);
  EXPECT(*two.Task(&Counter::Shout).Remote("hey").Get() == "hey!");
  EXPECT(*two.Task(&Counter::EchoString).Remote("echo").Get() == "echo");
  auto boxed = ray::Put(std::string("boxed"));
  EXPECT(*two.Task(&Counter::GetVal).Remote(boxed).Get() == "boxed");
  EXPECT(*two.Task(&Counter::Plus1ForActor).Remote(named).Get() == 5);
  auto child = two.Task(&Counter::CreateChildActor).Remote(std::string("child_actor")).Get();
  EXPECT(*child->Task(&Counter::Plus1).Remote().Get() == 1);

  // SetResources replaces what was set before, as Ray's does: asking 100 CPUs, then {CPU: 1}, runs.
  auto replaced = ray::Task(Return1).SetResource("CPU", 100).SetResources({{"CPU", 1}}).Remote();
  EXPECT(*ray::Get(replaced, 30000) == 1);

  bool task_error = false;
  try {
    ray::Task(ThrowTask).Remote().Get();
  } catch (const ray::internal::RayTaskException& e) {
    task_error = std::string(e.what()).find("std::logic_error") != std::string::npos;
  }
  EXPECT(task_error);
  bool method_error = false;
  try {
    two.Task(&Counter::ExceptionFunc).Remote().Get();
  } catch (const ray::internal::RayTaskException&) {
    method_error = true;
  }
  EXPECT(method_error);
  bool creation_error = false;
  try {
    ray::Actor(Counter::FactoryCreateException).Remote().Task(&Counter::Plus1).Remote().Get();
  } catch (const ray::internal::RayActorException&) {
    creation_error = true;
  }
  EXPECT(creation_error);
  bool exit_outside = false;
  try {
    ray::ExitActor();
  } catch (const ray::internal::RayException&) {
    exit_outside = true;
  }
  EXPECT(exit_outside);
  auto exited = ray::Actor(CreateCounter).Remote();
  bool exit_inside = false;
  try {
    exited.Task(&Counter::Exit).Remote().Get();
  } catch (const ray::internal::RayActorException&) {
    exit_inside = true;
  }
  EXPECT(exit_inside);

  ray::Shutdown();
  EXPECT(!ray::IsInitialized());
  std::cout << "counter_program: " << (compat_failures == 0 ? "ok" : "failed") << std::endl;
  return compat_failures == 0 ? 0 : 1;
}
