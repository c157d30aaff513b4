// An actor class declared in a header, its registration in a .cc beside it, the way Ray's
// cluster tests lay theirs out (and a free factory registered in the header itself, so that
// every file including it registers it again: the same function under the same name is fine).
#pragma once

#include <ray/api.h>

class Counter {
 public:
  explicit Counter(int init, bool with_exception = false);
  static Counter* FactoryCreate();
  static Counter* FactoryCreate(int init);
  static Counter* FactoryCreate(int init1, int init2);
  static Counter* FactoryCreateException();

  int Plus1();
  int Add(int x);
  int Exit();
  uint64_t GetPid();
  void ExceptionFunc() { throw std::invalid_argument("error"); }
  bool CheckRestartInActorCreationTask() { return was_restarted_; }
  bool CheckRestartInActorTask() { return ray::WasCurrentActorRestarted(); }
  // Parameters as Ray programs declare them: a non-const reference, a const reference, a ref.
  std::string Shout(std::string& text);
  std::string EchoString(const std::string& text) { return text; }
  std::string GetVal(ray::ObjectRef<std::string> obj) { return *obj.Get(); }
  ray::ActorHandle<Counter> CreateChildActor(std::string actor_name);
  int Plus1ForActor(ray::ActorHandle<Counter> actor) { return *actor.Task(&Counter::Plus1).Remote().Get(); }
  std::string GetNamespaceInActor() { return ray::GetNamespace(); }

 private:
  int count_;
  bool was_restarted_ = false;
};

inline Counter* CreateCounter() { return new Counter(0); }
RAY_REMOTE(CreateCounter);
