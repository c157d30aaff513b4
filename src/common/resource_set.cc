#include "src/common/resource_set.h"

#include <cmath>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "orrery/common.pb.h"

namespace orrery {

std::string FixedPoint::ToString() const {
  int64_t whole = raw_ / kScale;
  int64_t frac = std::llabs(raw_ % kScale);
  std::string out = (raw_ < 0 && whole == 0) ? "-0" : std::to_string(whole);
  if (frac == 0) return out;
  std::string digits = std::to_string(frac);
  digits.insert(0, 4 - digits.size(), '0');
  while (!digits.empty() && digits.back() == '0') digits.pop_back();
  return out + "." + digits;
}

namespace {

absl::Status CheckQuantity(const std::string& name, double value, bool allow_zero) {
  if (name.empty()) return absl::InvalidArgumentError("a resource name is empty");
  if (!std::isfinite(value)) {
    return absl::InvalidArgumentError(absl::StrCat("resource ", name, " is not a finite number"));
  }
  if (value < 0 || (value == 0 && !allow_zero)) {
    return absl::InvalidArgumentError(
        absl::StrCat("resource ", name, " must be ", allow_zero ? ">= 0" : "> 0", ", got ", value));
  }
  if (value > ResourceSet::kMaxQuantity) {
    return absl::InvalidArgumentError(
        absl::StrCat("resource ", name, " = ", value, " is above the limit of ", ResourceSet::kMaxQuantity));
  }
  if (value != 0 && FixedPoint::FromDouble(value).raw() == 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("resource ", name, " = ", value, " is below the smallest quantity, 0.0001"));
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<ResourceSet> ResourceSet::FromDoubles(const std::unordered_map<std::string, double>& values,
                                                     bool allow_zero) {
  ResourceSet set;
  for (const auto& [name, value] : values) {
    absl::Status status = CheckQuantity(name, value, allow_zero);
    if (!status.ok()) return status;
    set.Set(name, FixedPoint::FromDouble(value));
  }
  return set;
}

absl::StatusOr<ResourceSet> ResourceSet::FromJson(const std::string& json) {
  nlohmann::json parsed = nlohmann::json::parse(json, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) {
    return absl::InvalidArgumentError("resources must be a JSON object like {\"name\": 1}, got: " + json);
  }
  std::unordered_map<std::string, double> values;
  for (const auto& [name, value] : parsed.items()) {
    if (!value.is_number()) {
      return absl::InvalidArgumentError(absl::StrCat("resource ", name, " must be a number, got ", value.dump()));
    }
    values[name] = value.get<double>();
  }
  return FromDoubles(values, /*allow_zero=*/true);
}

absl::StatusOr<ResourceSet> ResourceSet::FromProto(const rpc::ResourceSet& proto) {
  ResourceSet set;
  const int64_t max_raw = static_cast<int64_t>(kMaxQuantity) * FixedPoint::kScale;
  for (const auto& [name, raw] : proto.quantities()) {
    if (name.empty()) return absl::InvalidArgumentError("a resource name is empty");
    if (raw < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("resource ", name, " must be >= 0, got ", FixedPoint::FromRaw(raw).ToString()));
    }
    if (raw > max_raw) {
      return absl::InvalidArgumentError(absl::StrCat("resource ", name, " = ", FixedPoint::FromRaw(raw).ToString(),
                                                     " is above the limit of ", kMaxQuantity));
    }
    set.Set(name, FixedPoint::FromRaw(raw));
  }
  return set;
}

void ResourceSet::ToProto(rpc::ResourceSet* proto) const {
  proto->clear_quantities();
  for (const auto& [name, value] : quantities_) (*proto->mutable_quantities())[name] = value.raw();
}

FixedPoint ResourceSet::Get(const std::string& name) const {
  auto it = quantities_.find(name);
  return it == quantities_.end() ? FixedPoint() : it->second;
}

void ResourceSet::Set(const std::string& name, FixedPoint value) {
  if (value.raw() == 0) {
    quantities_.erase(name);
  } else {
    quantities_[name] = value;
  }
}

bool ResourceSet::IsSubsetOf(const ResourceSet& other) const {
  for (const auto& [name, value] : quantities_) {
    if (value > other.Get(name)) return false;
  }
  return true;
}

ResourceSet& ResourceSet::operator+=(const ResourceSet& other) {
  for (const auto& [name, value] : other.quantities_) Set(name, Get(name) + value);
  return *this;
}

ResourceSet& ResourceSet::operator-=(const ResourceSet& other) {
  for (const auto& [name, value] : other.quantities_) Set(name, Get(name) - value);
  return *this;
}

std::unordered_map<std::string, double> ResourceSet::ToDoubles() const {
  std::unordered_map<std::string, double> out;
  for (const auto& [name, value] : quantities_) out[name] = value.ToDouble();
  return out;
}

std::string ResourceSet::ToString() const {
  return "{" +
         absl::StrJoin(quantities_, ", ",
                       [](std::string* out, const auto& entry) {
                         absl::StrAppend(out, entry.first, ": ", entry.second.ToString());
                       }) +
         "}";
}

}  // namespace orrery
