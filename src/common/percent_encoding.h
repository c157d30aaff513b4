// %XX escapes (RFC 3986), as URLs carry bytes they cannot hold as they are: a Redis URL's user
// and password, a dashboard request's path and query.
#pragma once

#include <string>

#include "absl/strings/string_view.h"

namespace orrery {

// Decodes every %XX of `in` into `out`. False on a broken escape ('%' not followed by two hex
// digits), `out` then unspecified.
bool PercentDecode(absl::string_view in, std::string* out);

// `in` with every byte escaped but letters, digits, "-_.~" and the bytes of `also_kept`.
std::string PercentEncode(absl::string_view in, absl::string_view also_kept = "");

}  // namespace orrery
