// The arguments of a task as a worker reads them (function_registry.h: Signature::Apply, through
// Deserialize in serialization.h): the bytes come from whoever submitted the task. Functions of
// several parameter types (raw and msgpack) are invoked on fuzzed arguments.
// Properties: a bad argument is an ArgumentError (what the task executor turns into the task's
// error), never a crash or another exception; an argument that reads writes back to bytes that
// read as the same value (Serialize(Deserialize(x)) is a fixed point).
//
// Input: a byte choosing the function, then per argument a format byte and a length-prefixed
// payload. The number of arguments follows the input, so wrong counts are tried too.
#include <cstdint>
#include <map>
#include <string>
#include <tuple>
#include <vector>

#include "orrery/internal/function_registry.h"
#include "tests/fuzz/fuzz_point.h"
#include "tests/fuzz/fuzz_util.h"

namespace orrery::fuzz {
namespace {

using internal::Args;
using internal::Format;
using internal::SerializedValue;

// Each function returns what it was given, so what was read can be written back and compared.
int Int(int v) { return v; }
std::string String(std::string v) { return v; }
std::vector<double> Doubles(std::vector<double> v) { return v; }
std::vector<uint8_t> Bytes(std::vector<uint8_t> v) { return v; }
Point Struct(Point v) { return v; }
std::tuple<int64_t, std::string, bool> Tuple(std::tuple<int64_t, std::string, bool> v) { return v; }
std::map<std::string, std::vector<int64_t>> Map(std::map<std::string, std::vector<int64_t>> v) { return v; }
std::vector<bool> Bools(std::vector<bool> v) { return v; }
std::pair<int, std::string> Two(int a, std::string b) { return {a, b}; }
void Nothing() {}

// A function's invoker, and a check that its result re-reads to itself.
struct Case {
  internal::RemoteFunction function;
  std::function<void(const SerializedValue&)> check_round_trip;
};

template <typename R, typename... Params>
Case MakeCase(const char* name, R (*f)(Params...)) {
  Case c{internal::MakeRemoteFunction(name, f), nullptr};
  if constexpr (!std::is_void_v<R>) {
    c.check_round_trip = [](const SerializedValue& result) {
      SerializedValue again = internal::Serialize(internal::Deserialize<R>(result));
      FUZZ_CHECK(again.format == result.format && again.payload == result.payload,
                 "a value read from the wire writes back to the same bytes");
    };
  }
  return c;
}

const std::vector<Case>& Cases() {
  static const auto* cases = new std::vector<Case>{
      MakeCase("Int", Int),       MakeCase("String", String),  MakeCase("Doubles", Doubles), MakeCase("Bytes", Bytes),
      MakeCase("Struct", Struct), MakeCase("Tuple", Tuple),    MakeCase("Map", Map),         MakeCase("Bools", Bools),
      MakeCase("Two", Two),       MakeCase("Nothing", Nothing)};
  return *cases;
}

}  // namespace
}  // namespace orrery::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orrery::fuzz;
  FuzzInput input(data, size);
  const Case& c = Cases()[input.TakeByte() % Cases().size()];
  Args args;
  while (!input.empty() && args.size() < 4) {
    auto value = std::make_shared<SerializedValue>();
    value->format = static_cast<Format>(input.TakeByte() % 4 + 1);
    value->payload = input.TakeString(1 << 16);
    args.push_back(std::move(value));
  }
  SerializedValue result;
  try {
    result = c.function.invoke(args);
  } catch (const orrery::internal::ArgumentError&) {
    return 0;  // the task fails with this error; the worker goes on
  }
  // Anything else thrown escapes here, and libFuzzer reports it as a crash.
  if (c.check_round_trip) c.check_round_trip(result);
  return 0;
}
