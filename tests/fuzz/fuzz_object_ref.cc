// ObjectRef unpacking (object_ref.h: msgpack_unpack, and Deserialize of values holding refs):
// the ids and owners come from a task's arguments or a stored value, so from a peer. Against a
// runtime that counts references (counting_runtime.h), as
// LocalRuntime.AnObjectRefThatFailsToUnpackIsLeftEmpty does against local mode.
// Properties: a ref of the wrong shape throws msgpack::type_error and is left as it was; one
// Borrow refuses throws OrreryException and is left empty, releasing what it held and taking
// nothing (Deserialize turns both into OrreryException);
// a ref that unpacks holds exactly the id it was given, and packs again to that id; once the
// refs are gone, every reference taken was released exactly once.
//
// Input: a byte choosing the value's type, then its msgpack bytes.
#include <cstdint>
#include <string>
#include <tuple>
#include <vector>

#include "orrery/api.h"
#include "tests/fuzz/counting_runtime.h"
#include "tests/fuzz/fuzz_util.h"

namespace orrery::fuzz {
namespace {

using internal::SerializedValue;

void UnpackOne(const SerializedValue& value) {
  msgpack::object_handle handle;
  try {
    handle = msgpack::unpack(value.data(), value.size(), nullptr, nullptr, internal::LimitsFor(value.size()));
  } catch (const std::exception&) {
    return;  // not msgpack at all: Deserialize's business, below
  }
  // A live ref first: unpacking over it must release it, whether or not the new one is good.
  ObjectRef<int> ref = Put(7);
  const std::string before = ref.binary_id();
  try {
    ref.msgpack_unpack(handle.get());
  } catch (const msgpack::type_error&) {
    // The shape is checked before anything is released: the ref is left as it was.
    FUZZ_CHECK(ref.binary_id() == before, "a ref of the wrong shape is left as it was");
    return;
  } catch (const OrreryException&) {
    FUZZ_CHECK(ref.Empty(), "a ref Borrow refused is left empty");
    return;
  }
  const msgpack::object& id = handle.get().via.array.ptr[0];
  FUZZ_CHECK(ref.binary_id() == std::string(id.via.bin.ptr, id.via.bin.size), "a ref holds the id it was given");
  msgpack::sbuffer packed;
  msgpack::pack(packed, ref);
  msgpack::object_handle again = msgpack::unpack(packed.data(), packed.size());
  const msgpack::object& packed_id = again.get().via.array.ptr[0];
  FUZZ_CHECK(std::string(packed_id.via.bin.ptr, packed_id.via.bin.size) == ref.binary_id(), "a ref packs to its id");
}

// Refs inside values, through Deserialize as Get and task arguments read them.
template <typename T>
void DeserializeAs(const SerializedValue& value) {
  try {
    T result = internal::Deserialize<T>(value);
    (void)result;
  } catch (const OrreryException&) {
  }
}

}  // namespace
}  // namespace orrery::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orrery;
  using namespace orrery::fuzz;
  FuzzInput input(data, size);
  const uint8_t which = input.TakeByte();
  internal::SerializedValue value;
  value.format = internal::Format::kMsgpack;
  value.payload = input.Rest();
  switch (which % 4) {
    case 0:
      UnpackOne(value);
      break;
    case 1:
      DeserializeAs<ObjectRef<int>>(value);
      break;
    case 2:
      DeserializeAs<std::vector<ObjectRef<std::string>>>(value);
      break;
    case 3:
      DeserializeAs<std::tuple<int, ObjectRef<std::vector<double>>>>(value);
      break;
  }
  FUZZ_CHECK(CountingRuntime::Instance().Held().empty(), "every reference taken is released");
  return 0;
}
