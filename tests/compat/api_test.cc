// ray_compat's spellings as a Ray program writes them, through <ray/api.h> alone: no runtime
// here (programs/ run them on clusters). This file includes nothing else on purpose: what it
// uses without including (std::cout, std::mutex, std::thread, boost::optional, msgpack, sleep)
// is what Ray's header brings in.
#include <ray/api.h>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace {

using ::testing::HasSubstr;

struct Tally {
  static Tally* FactoryCreate() { return new Tally(); }
  static Tally* FactoryCreate(int start) { return new Tally(start); }
  static Tally* FactoryCreate(int a, int b) { return new Tally(a + b); }
  Tally() = default;
  explicit Tally(int start) : count(start) {}
  int Add(int x) { return count += x; }
  int Add(int x, int y) { return count += x + y; }
  int Count() const { return count; }
  int count = 0;
};

int Twice(int x) { return 2 * x; }
std::string Appended(std::string& text) { return text += "!"; }
std::string Echo(const std::string& text) { return text; }

// Ray's RAY_REMOTE may end without a semicolon; a declaration may follow at once.
RAY_REMOTE(Twice)
RAY_REMOTE(Appended, Echo);
RAY_REMOTE(RAY_FUNC(Tally::FactoryCreate), RAY_FUNC(Tally::FactoryCreate, int),
           RAY_FUNC(Tally::FactoryCreate, int, int), RAY_FUNC(&Tally::Add, int), RAY_FUNC(&Tally::Add, int, int),
           &Tally::Count);

TEST(RayCompatHeaders, BringInWhatRaysApiHeaderDoes) {
  std::mutex mutex;
  std::condition_variable ready;
  int seen = 0;
  std::thread worker([&] {
    std::lock_guard<std::mutex> lock(mutex);
    seen = 1;
    ready.notify_one();
  });
  {
    std::unique_lock<std::mutex> lock(mutex);
    ready.wait(lock, [&] { return seen == 1; });
  }
  worker.join();
  boost::optional<int> maybe = 3;
  msgpack::sbuffer buffer;
  msgpack::pack(buffer, *maybe);
  std::cout << "packed " << buffer.size() << " byte(s)" << std::endl;
  EXPECT_EQ(seen, 1);
  EXPECT_EQ(buffer.size(), 1u);
  EXPECT_EQ(sleep(0), 0u);
}

TEST(RayCompatRegistration, RayFuncPicksEachOverloadOfFactoriesAndMethods) {
  static_assert(std::is_same_v<decltype(RAY_FUNC(Tally::FactoryCreate)), Tally* (*)()>);
  static_assert(std::is_same_v<decltype(RAY_FUNC(Tally::FactoryCreate, int, int)), Tally* (*)(int, int)>);
  static_assert(std::is_same_v<decltype(RAY_FUNC(&Tally::Add, int)), int (Tally::*)(int)>);
  static_assert(std::is_same_v<decltype(RAY_FUNC(&Tally::Add, int, int)), int (Tally::*)(int, int)>);
  auto& registry = orrery::internal::FunctionRegistry::Instance();
  // Each overload is registered under its own name, the source text Ray registers it under.
  for (const char* name : {"RAY_FUNC(Tally::FactoryCreate)", "RAY_FUNC(Tally::FactoryCreate, int)",
                           "RAY_FUNC(Tally::FactoryCreate, int, int)", "RAY_FUNC(&Tally::Add, int)",
                           "RAY_FUNC(&Tally::Add, int, int)", "Tally::Count", "Twice", "Appended", "Echo"}) {
    EXPECT_NE(registry.Find(name), nullptr) << name;
  }
  EXPECT_EQ(registry.Find("RAY_FUNC(&Tally::Add, int, int)")->arity, 2u);
  EXPECT_EQ(registry.Find("RAY_FUNC(Tally::FactoryCreate)")->arity, 0u);
}

// A worker calls a function the way the registry does: arguments from the wire.
template <typename... Values>
orrery::internal::Args WireArgs(const Values&... values) {
  return {std::make_shared<const orrery::internal::SerializedValue>(orrery::internal::Serialize(values))...};
}

TEST(RayCompatRegistration, AFunctionTakingANonConstReferenceGetsTheArgumentAsAnLvalue) {
  const auto* appended = orrery::internal::FunctionRegistry::Instance().Find("Appended");
  ASSERT_NE(appended, nullptr);
  auto result = appended->invoke(WireArgs(std::string("hello")));
  EXPECT_EQ(orrery::internal::Deserialize<std::string>(result), "hello!");
  const auto* add = orrery::internal::FunctionRegistry::Instance().Find("RAY_FUNC(&Tally::Add, int, int)");
  Tally tally(1);
  auto sum = add->invoke_method(&tally, WireArgs(2, 3));
  EXPECT_EQ(orrery::internal::Deserialize<int>(sum), 6);
}

TEST(RayCompatOptional, GetActorsResultAndRuntimeEnvReadAsBoostAndStdOptional) {
  ray::internal::EitherOptional<int> none;
  boost::optional<int> as_boost = none;
  std::optional<int> as_std = none;
  EXPECT_FALSE(as_boost);
  EXPECT_FALSE(as_std);
  ray::internal::EitherOptional<int> seven = boost::optional<int>(7);
  as_boost = seven;
  EXPECT_EQ(*as_boost, 7);
  EXPECT_EQ(*seven, 7);
  seven = boost::none;
  EXPECT_FALSE(seven);

  ray::RayConfig config;
  EXPECT_FALSE(config.runtime_env);
  ray::RuntimeEnv env;
  env.Set("env_vars", std::map<std::string, std::string>{{"STAGE", "job"}});
  config.runtime_env = boost::optional<ray::RuntimeEnv>(env);
  boost::optional<ray::RuntimeEnv> read_back = config.runtime_env;
  ASSERT_TRUE(read_back);
  EXPECT_EQ((read_back->Get<std::map<std::string, std::string>>("env_vars").at("STAGE")), "job");
  config.runtime_env = env;
  EXPECT_TRUE(config.runtime_env->Contains("env_vars"));
  config.redis_password_ = "5241590000000000";
  config.redis_username_ = "default";
  config.is_worker_ = false;
  orrery::Config native = ray::internal::ToOrrery(config);
  EXPECT_EQ(native.runtime_env.env_vars.at("STAGE"), "job");
}

TEST(RayCompatLogging, ALineBelowTheLevelIsNotFormattedAndAnIfElseAroundRaylogPairsAsWritten) {
  int formatted = 0;
  auto count = [&] { return ++formatted; };
  RAYLOG(DEBUG) << "not written at the default level: " << count();
  EXPECT_EQ(formatted, 0);
  EXPECT_FALSE(ray::IsLevelEnabled(ray::RayLoggerLevel::DEBUG));
  EXPECT_TRUE(ray::RayLog::IsLevelEnabled(ray::RayLoggerLevel::WARNING));
  RAYLOG(INFO) << "written: " << count() << std::endl;
  EXPECT_EQ(formatted, 1);
  bool else_taken = false;
  if (formatted == 0)
    RAYLOG(ERROR) << "not reached";
  else
    else_taken = true;
  EXPECT_TRUE(else_taken);
}

TEST(RayCompatLogging, FatalWritesTheLineAndAborts) {
  EXPECT_DEATH(RAYLOG(FATAL) << "the end of " << "the line", "api_test.cc:[0-9]+: the end of the line");
}

TEST(RayCompatExceptions, HaveRaysConstructorsAndMessageField) {
  ray::internal::RayTaskException task("a task failed");
  EXPECT_EQ(task.msg_, "a task failed");
  EXPECT_STREQ(task.what(), "a task failed");
  const ray::internal::RayException& root = task;
  EXPECT_EQ(root.msg_, "a task failed");
  // RayFunctionNotFound is beside RayTaskException, as in Ray, with Ray's constructor.
  static_assert(std::is_base_of_v<ray::internal::RayException, ray::internal::RayFunctionNotFound>);
  static_assert(!std::is_base_of_v<ray::internal::RayTaskException, ray::internal::RayFunctionNotFound>);
  EXPECT_EQ(ray::internal::RayFunctionNotFound("no Plus").msg_, "no Plus");
  ray::internal::RayActorException actor("gone");
  ray::internal::RayRuntimeEnvException env("bad field");
  EXPECT_EQ(env.msg_, "bad field");
  EXPECT_EQ(actor.msg_, "gone");
}

TEST(RayCompatCrossLanguage, CallablesCompileAndSubmittingOneThrowsRayException) {
  try {
    ray::Task(ray::PyFunction<int>{"my_module", "py_return_val"}).SetName("py").Remote(42);
    FAIL() << "a Python function was submitted";
  } catch (const ray::internal::RayException& e) {
    EXPECT_THAT(e.what(), HasSubstr("cross-language calls are not supported"));
    EXPECT_THAT(e.what(), HasSubstr("my_module.py_return_val"));
  }
  EXPECT_THROW(ray::Actor(ray::PyActorClass{"my_module", "Counter"}).Remote(1), ray::internal::RayException);
  EXPECT_THROW(ray::Task(ray::JavaFunction<std::string>{"Demo", "echo"}).Remote("x"), ray::internal::RayException);
  EXPECT_THROW(ray::Actor(ray::JavaActorClass{"Demo"}).SetMaxRestarts(1).Remote(), ray::internal::RayException);
  ray::ActorHandleXlang handle;
  EXPECT_THROW(handle.Task(ray::PyActorMethod<std::string>{"increase"}).Remote(1), ray::internal::RayException);
  EXPECT_THROW(handle.Task(ray::JavaActorMethod<int>{"get"}).Remote(), ray::internal::RayException);
  EXPECT_THROW(ray::GetActor("py_actor"), ray::internal::RayException);
}

TEST(RayCompatMetrics, RecordingIsAcceptedWithTheTagKeysDeclared) {
  ray::Gauge gauge("compat_gauge", "a gauge", "items", {"stage"});
  ray::Counter counter("compat_counter", "a counter", "items", {"stage"});
  ray::Histogram histogram("compat_histogram", "a histogram", "ms", {1, 10, 100}, {"stage"});
  ray::Sum sum("compat_sum", "a sum", "bytes", {"stage"});
  std::unordered_map<std::string, std::string> tags = {{"stage", "unit"}};
  gauge.Set(1, tags);
  counter.Inc(2, tags);
  histogram.Observe(3, tags);
  sum.Record(4, tags);
  EXPECT_EQ(gauge.GetName(), "compat_gauge");
  EXPECT_EQ(histogram.GetName(), "compat_histogram");
}

TEST(RayCompatSerializer, RoundTripsValuesAndReadsAtAnOffset) {
  msgpack::sbuffer buffer = ray::internal::Serializer::Serialize(std::string("first"));
  msgpack::pack(buffer, 42);
  EXPECT_EQ(ray::internal::Serializer::Deserialize<std::string>(buffer.data(), buffer.size()), "first");
  size_t offset = 0;
  EXPECT_EQ(ray::internal::Serializer::Deserialize<std::string>(buffer.data(), buffer.size(), &offset), "first");
  EXPECT_EQ(ray::internal::Serializer::Deserialize<int>(buffer.data(), buffer.size(), offset), 42);
  msgpack::sbuffer nil = ray::internal::Serializer::Serialize(msgpack::type::nil_t());
  EXPECT_FALSE((ray::internal::Serializer::DeserializeWhenNil<int>(nil.data(), nil.size()).first));
  EXPECT_THROW(ray::internal::Serializer::Deserialize<int>(buffer.data(), 3), std::exception);
}

TEST(RayCompatSerializer, AnAnyArrayComesBackHoldingTheTypesItsEncodingNames) {
  std::vector<std::any> sent = {true,
                                uint64_t{127},
                                int64_t{-9223372036854775807LL - 1},
                                1.234,
                                std::string("Hello World!"),
                                std::vector<char>{'b', 'i', 'n'},
                                std::vector<std::byte>{std::byte{1}, std::byte{2}},
                                7};
  msgpack::sbuffer buffer = ray::internal::Serializer::Serialize(sent);
  auto received = ray::internal::Serializer::Deserialize<std::vector<std::any>>(buffer.data(), buffer.size());
  ASSERT_EQ(received.size(), sent.size());
  EXPECT_EQ(std::any_cast<bool>(received[0]), true);
  EXPECT_EQ(std::any_cast<uint64_t>(received[1]), 127u);
  EXPECT_EQ(std::any_cast<int64_t>(received[2]), -9223372036854775807LL - 1);
  EXPECT_EQ(std::any_cast<double>(received[3]), 1.234);
  EXPECT_EQ(std::any_cast<std::string>(received[4]), "Hello World!");
  EXPECT_EQ(std::any_cast<std::vector<char>>(received[5]), (std::vector<char>{'b', 'i', 'n'}));
  EXPECT_EQ(std::any_cast<std::vector<char>>(received[6]), (std::vector<char>{1, 2}));
  EXPECT_EQ(std::any_cast<uint64_t>(received[7]), 7u);
  // What has no msgpack encoding of its own is refused, not dropped.
  EXPECT_THROW(ray::internal::Serializer::Serialize(std::vector<std::any>{std::map<int, int>{}}), msgpack::type_error);
  msgpack::sbuffer array = ray::internal::Serializer::Serialize(std::vector<int>{1});
  EXPECT_THROW(ray::internal::Serializer::Deserialize<std::any>(array.data(), array.size()), msgpack::type_error);
}

TEST(RayCompatShapes, TraitsWaitResultAndPlacementGroupStatesReadAsRays) {
  static_assert(ray::internal::is_object_ref_v<ray::ObjectRef<int>>);
  static_assert(!ray::internal::is_object_ref_v<int>);
  static_assert(ray::internal::is_actor_handle_v<ray::ActorHandle<Tally>>);
  static_assert(!ray::internal::is_actor_handle_v<ray::ObjectRef<int>>);
  static_assert(ray::internal::is_python_v<ray::PyFunction<int>>);
  static_assert(ray::internal::is_java_v<ray::JavaActorClass>);
  static_assert(ray::internal::is_x_lang_v<ray::JavaFunction<int>> && !ray::internal::is_x_lang_v<Tally>);
  static_assert(std::is_same_v<ray::ActorHandle<Tally, false>, ray::ActorHandle<Tally>>);
  std::vector<ray::ObjectRef<int>> ready(2), unready(1);
  ray::WaitResult<int> from_vectors(ready, unready);
  EXPECT_EQ(from_vectors.ready.size(), 2u);
  EXPECT_EQ(from_vectors.unready.size(), 1u);
  ray::WaitResult<int> from_lists(std::list<ray::ObjectRef<int>>(3), std::list<ray::ObjectRef<int>>());
  EXPECT_EQ(from_lists.ready.size(), 3u);
  ray::PlacementGroupState state = ray::CREATED;
  EXPECT_EQ(state, ray::PlacementGroupState::CREATED);
  // Ray's C++ values: PENDING 0, CREATED 1, REMOVED 2, RESCHEDULING 3.
  int as_int = ray::CREATED;
  EXPECT_EQ(as_int, 1);
  EXPECT_EQ(static_cast<int>(ray::REMOVED), 2);
  EXPECT_EQ(static_cast<int>(ray::RESCHEDULING), 3);
  EXPECT_EQ(static_cast<int>(ray::PENDING), 0);
  EXPECT_EQ(static_cast<int>(ray::UNRECOGNIZED), -1);
}

}  // namespace
