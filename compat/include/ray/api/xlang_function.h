/// Ray's cross-language callables (Python and Java functions, actor classes and methods, and
/// ActorHandleXlang): declared as in Ray, so that programs mentioning them compile. Orrery runs
/// C++ only: submitting one throws ray::internal::RayException saying so, naming the callee.
#pragma once

#include <string>
#include <unordered_map>

#include "orrery/errors.h"
#include "orrery/object_ref.h"
#include "ray/api/either_optional.h"

namespace ray {

template <typename R>
struct PyFunction {
  bool IsPython() { return true; }
  R operator()() { return {}; }
  std::string module_name;
  std::string function_name;
};

struct PyActorClass {
  bool IsPython() { return true; }
  void operator()() {}
  std::string module_name;
  std::string class_name;
  std::string function_name = "__init__";
};

template <typename R>
struct PyActorMethod {
  bool IsPython() { return true; }
  R operator()() { return {}; }
  std::string function_name;
};

template <typename R>
struct JavaFunction {
  bool IsJava() { return true; }
  R operator()() { return {}; }
  std::string class_name;
  std::string function_name;
};

struct JavaActorClass {
  bool IsJava() { return true; }
  void operator()() {}
  std::string class_name;
  std::string module_name = "";
  std::string function_name = "<init>";
};

template <typename R>
struct JavaActorMethod {
  bool IsJava() { return true; }
  R operator()() { return {}; }
  std::string function_name;
};

namespace internal {

[[noreturn]] inline void RefuseCrossLanguage(const std::string& callee) {
  throw orrery::OrreryException("cross-language calls are not supported: Orrery runs C++ only, so " + callee +
                                " cannot be called");
}

// What Task, Actor and ActorHandleXlang::Task return for a cross-language callee: Ray's options,
// accepted, then Remote(), which refuses.
template <typename Result>
class XlangCaller {
 public:
  explicit XlangCaller(std::string callee) : callee_(std::move(callee)) {}
  XlangCaller& SetName(const std::string&) { return *this; }
  XlangCaller& SetResource(const std::string&, double) { return *this; }
  XlangCaller& SetResources(const std::unordered_map<std::string, double>&) { return *this; }
  XlangCaller& SetMaxRetries(int) { return *this; }
  XlangCaller& SetMaxRestarts(int) { return *this; }
  XlangCaller& SetMaxConcurrency(int) { return *this; }
  template <typename... Args>
  Result Remote(Args&&...) {
    RefuseCrossLanguage(callee_);
  }

 private:
  std::string callee_;
};

}  // namespace internal

/// A handle to an actor of another language: none can exist in Orrery.
class ActorHandleXlang {
 public:
  std::string ID() const { return ""; }
  template <typename R>
  internal::XlangCaller<orrery::ObjectRef<R>> Task(PyActorMethod<R> method) {
    return internal::XlangCaller<orrery::ObjectRef<R>>("the Python actor method " + method.function_name);
  }
  template <typename R>
  internal::XlangCaller<orrery::ObjectRef<R>> Task(JavaActorMethod<R> method) {
    return internal::XlangCaller<orrery::ObjectRef<R>>("the Java actor method " + method.function_name);
  }
  void Kill() { internal::RefuseCrossLanguage("a cross-language actor"); }
  void Kill(bool) { Kill(); }
};

template <typename R>
internal::XlangCaller<orrery::ObjectRef<R>> Task(PyFunction<R> function) {
  return internal::XlangCaller<orrery::ObjectRef<R>>("the Python function " + function.module_name + "." +
                                              function.function_name);
}
template <typename R>
internal::XlangCaller<orrery::ObjectRef<R>> Task(JavaFunction<R> function) {
  return internal::XlangCaller<orrery::ObjectRef<R>>("the Java function " + function.class_name + "." +
                                              function.function_name);
}
inline internal::XlangCaller<ActorHandleXlang> Actor(PyActorClass actor_class) {
  return internal::XlangCaller<ActorHandleXlang>("the Python actor class " + actor_class.module_name + "." +
                                                 actor_class.class_name);
}
inline internal::XlangCaller<ActorHandleXlang> Actor(JavaActorClass actor_class) {
  return internal::XlangCaller<ActorHandleXlang>("the Java actor class " + actor_class.class_name);
}

/// Ray's untyped GetActor (a handle to an actor of any language, for cross-language calls).
inline internal::EitherOptional<ActorHandleXlang> GetActor(const std::string& actor_name,
                                                           const std::string& /*ray_namespace*/ = "") {
  internal::RefuseCrossLanguage("GetActor(\"" + actor_name + "\") without the actor's C++ type (GetActor<T>)");
}

}  // namespace ray
