#include "counter.h"

#include <unistd.h>

Counter::Counter(int init, bool with_exception) {
  if (with_exception) throw std::invalid_argument("creation error");
  count_ = init;
  was_restarted_ = ray::WasCurrentActorRestarted();
}

Counter* Counter::FactoryCreate() { return new Counter(0); }
Counter* Counter::FactoryCreate(int init) { return new Counter(init); }
Counter* Counter::FactoryCreate(int init1, int init2) { return new Counter(init1 + init2); }
Counter* Counter::FactoryCreateException() { return new Counter(0, true); }

int Counter::Plus1() { return count_ += 1; }

int Counter::Add(int x) { return count_ += x; }

int Counter::Exit() {
  ray::ExitActor();
  return 1;
}

uint64_t Counter::GetPid() { return getpid(); }

std::string Counter::Shout(std::string& text) {
  RAYLOG(INFO) << "compat-raylog-marker: shouting " << text;
  text += "!";
  return text;
}

ray::ActorHandle<Counter> Counter::CreateChildActor(std::string actor_name) {
  return ray::Actor(RAY_FUNC(Counter::FactoryCreate)).SetName(actor_name).Remote();
}

RAY_REMOTE(RAY_FUNC(Counter::FactoryCreate), Counter::FactoryCreateException, RAY_FUNC(Counter::FactoryCreate, int),
           RAY_FUNC(Counter::FactoryCreate, int, int), &Counter::Plus1, &Counter::Add, &Counter::Exit,
           &Counter::GetPid, &Counter::ExceptionFunc, &Counter::CheckRestartInActorCreationTask,
           &Counter::CheckRestartInActorTask, &Counter::Shout, &Counter::EchoString, &Counter::GetVal,
           &Counter::CreateChildActor, &Counter::Plus1ForActor, &Counter::GetNamespaceInActor)
