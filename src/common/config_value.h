// Text <-> value conversions for the types a ConfigTable holds.
#pragma once

#include <cstdint>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"

namespace orrery {

absl::Status ParseConfigValue(absl::string_view text, bool* out);
absl::Status ParseConfigValue(absl::string_view text, int32_t* out);
absl::Status ParseConfigValue(absl::string_view text, int64_t* out);
absl::Status ParseConfigValue(absl::string_view text, double* out);
absl::Status ParseConfigValue(absl::string_view text, std::string* out);
// Comma-separated.
absl::Status ParseConfigValue(absl::string_view text, std::vector<std::string>* out);

std::string FormatConfigValue(bool value);
std::string FormatConfigValue(int32_t value);
std::string FormatConfigValue(int64_t value);
std::string FormatConfigValue(double value);
std::string FormatConfigValue(const std::string& value);
std::string FormatConfigValue(const std::vector<std::string>& value);

template <typename T>
const char* ConfigTypeName();
template <> inline const char* ConfigTypeName<bool>() { return "bool"; }
template <> inline const char* ConfigTypeName<int32_t>() { return "int32"; }
template <> inline const char* ConfigTypeName<int64_t>() { return "int64"; }
template <> inline const char* ConfigTypeName<double>() { return "double"; }
template <> inline const char* ConfigTypeName<std::string>() { return "string"; }
template <> inline const char* ConfigTypeName<std::vector<std::string>>() { return "list"; }

}  // namespace orrery
