// The first program a Ray C++ user writes (the shape of Ray's quick start, example.cc and
// simple_job.cc): <ray/api.h>, RAY_REMOTE with a semicolon, ray::Init() with no arguments,
// Put/Get, a task, an actor, a reference passed to an actor. Its output is checked by the test.
#include <ray/api.h>

#include "expect.h"

int Plus(int x, int y) { return x + y; }
RAY_REMOTE(Plus);

class Counter {
 public:
  explicit Counter(int init) { count = init; }
  static Counter* FactoryCreate(int init) { return new Counter(init); }
  int Add(int x) {
    count += x;
    return count;
  }
  int count;
};
RAY_REMOTE(Counter::FactoryCreate, &Counter::Add);

int main(int argc, char** argv) {
  ray::Init();  // as Ray's example: no flags read (ORRERY_TEMP_DIR and the like still apply)
  auto object = ray::Put(100);
  int put_get_result = *(ray::Get(object));
  std::cout << "put_get_result = " << put_get_result << std::endl;
  auto task_object = ray::Task(Plus).Remote(1, 2);
  int task_result = *(ray::Get(task_object));
  std::cout << "task_result = " << task_result << std::endl;
  ray::ActorHandle<Counter> actor = ray::Actor(Counter::FactoryCreate).Remote(0);
  int actor_task_result = *(ray::Get(actor.Task(&Counter::Add).Remote(3)));
  std::cout << "actor_task_result = " << actor_task_result << std::endl;
  int actor_task_result2 = *(ray::Get(actor.Task(&Counter::Add).Remote(task_object)));
  std::cout << "actor_task_result2 = " << actor_task_result2 << std::endl;
  ray::Shutdown();
  EXPECT(put_get_result == 100);
  EXPECT(task_result == 3);
  EXPECT(actor_task_result == 3);
  EXPECT(actor_task_result2 == 6);
  return compat_failures == 0 ? 0 : 1;
}
