#include "absl/strings/string_view.h"
#include "src/common/id.h"

#include "absl/strings/str_cat.h"
#include "src/common/random.h"

namespace orrery {
namespace internal {

std::string IdHex(const uint8_t* data, size_t size) {
  return HexEncode(absl::string_view(reinterpret_cast<const char*>(data), size));
}

absl::Status IdSizeError(absl::string_view type, size_t want, size_t got) {
  return absl::InvalidArgumentError(absl::StrCat(type, " must be ", want, " bytes, got ", got));
}

std::string IdRandom(size_t size) { return RandomBytes(size); }

}  // namespace internal

JobId JobIdFromInt(uint32_t value) {
  std::string binary(4, '\0');
  for (int i = 3; i >= 0; --i) {
    binary[i] = static_cast<char>(value & 0xff);
    value >>= 8;
  }
  return JobId::FromBinary(binary).value();
}

ObjectId ObjectIdOf(const TaskId& task, uint32_t index) {
  std::string binary = task.Binary();
  for (int i = 3; i >= 0; --i) binary.push_back(static_cast<char>((index >> (8 * i)) & 0xff));
  return ObjectId::FromBinary(binary).value();
}

uint32_t JobIdToInt(const JobId& id) {
  uint32_t value = 0;
  for (size_t i = 0; i < 4; ++i) value = value << 8 | id.data()[i];
  return value;
}

}  // namespace orrery
