#include "src/common/percent_encoding.h"

#include "absl/strings/ascii.h"

namespace orrery {

namespace {

// The value of a hex digit, or -1. (Named apart from random.cc's: unity builds share a scope.)
int PercentHexDigit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

bool PercentDecode(absl::string_view in, std::string* out) {
  out->clear();
  for (size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '%') {
      out->push_back(in[i]);
      continue;
    }
    if (i + 2 >= in.size()) return false;
    int high = PercentHexDigit(in[i + 1]);
    int low = PercentHexDigit(in[i + 2]);
    if (high < 0 || low < 0) return false;
    out->push_back(static_cast<char>(high * 16 + low));
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
