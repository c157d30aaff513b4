#include "src/api/local_execution.h"

namespace orrery::api {

namespace {
thread_local LocalExecution* current_execution = nullptr;
}  // namespace

LocalExecution* LocalExecution::Current() { return current_execution; }

LocalExecution::Scope::Scope(LocalExecution* execution) : previous_(current_execution) {
  current_execution = execution;
}

LocalExecution::Scope::~Scope() { current_execution = previous_; }

}  // namespace orrery::api
