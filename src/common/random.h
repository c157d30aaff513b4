// Randomness from the kernel (getrandom): IDs and tokens must not be guessable.
#pragma once

#include "absl/strings/string_view.h"
#include <cstddef>
#include <string>

namespace orrery {

// `n` random bytes from the kernel's CSPRNG.
std::string RandomBytes(size_t n);

// Lowercase hex of `bytes`.
std::string HexEncode(absl::string_view bytes);

// Inverse of HexEncode; false when `hex` is not an even-length hex string.
bool HexDecode(absl::string_view hex, std::string* out);

}  // namespace orrery
