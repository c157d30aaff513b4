#include "src/common/percent_encoding.h"

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"

namespace orrery {

bool PercentDecode(absl::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    absl::string_view hex = in.substr(i + 1, 2);
    if (hex.size() != 2 || !absl::ascii_isxdigit(static_cast<unsigned char>(hex[0])) ||
        !absl::ascii_isxdigit(static_cast<unsigned char>(hex[1]))) {
      return false;
    }
    *out += absl::HexStringToBytes(hex);
    i += 2;
  }
  return true;
}

std::string PercentEncode(absl::string_view in, absl::string_view also_kept) {
  std::string out;
  for (char c : in) {
    if (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.' || c == '~' ||
        also_kept.find(c) != absl::string_view::npos) {
      out.push_back(c);
    } else {
      constexpr char kHex[] = "0123456789ABCDEF";
      unsigned char byte = static_cast<unsigned char>(c);
      out += {'%', kHex[byte >> 4], kHex[byte & 15]};
    }
  }
  return out;
}

}  // namespace orrery
