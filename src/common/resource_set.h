// ResourceSet: named resource quantities (CPU, GPU, memory, custom), in fixed point.
#pragma once

#include <map>
#include <string>
#include <unordered_map>

#include "absl/status/statusor.h"
#include "src/common/fixed_point.h"

namespace orrery {

namespace rpc {
class ResourceSet;
}

inline constexpr const char kCpu[] = "CPU";
inline constexpr const char kGpu[] = "GPU";
// Ray's standard byte resources, on every node: the memory it offers to tasks and actors, and
// its object store's size. Quantities are bytes.
inline constexpr const char kMemory[] = "memory";
inline constexpr const char kObjectStoreMemory[] = "object_store_memory";
inline bool IsByteResource(const std::string& name) { return name == kMemory || name == kObjectStoreMemory; }

// A map from resource name to quantity; absent means zero, and zero entries are not stored.
// Quantities may go negative in "available" sets while a blocked worker's CPU is lent out.
// Ordered, so that ToString and equality are deterministic.
class ResourceSet {
 public:
  ResourceSet() = default;

  // The largest quantity any single resource may have: past it, a request is surely a mistake.
  static constexpr double kMaxQuantity = 1e12;

  // Checks every entry a user or peer supplies: a non-empty name, a finite value > 0 (or == 0
  // when `allow_zero`), at most kMaxQuantity, and representable in 4 decimals.
  static absl::StatusOr<ResourceSet> FromDoubles(const std::unordered_map<std::string, double>& values,
                                                 bool allow_zero = false);
  // Parses '{"CPU": 2, "custom": 0.5}'.
  static absl::StatusOr<ResourceSet> FromJson(const std::string& json);
  // Validates like FromDoubles; a peer may send anything.
  static absl::StatusOr<ResourceSet> FromProto(const rpc::ResourceSet& proto);
  void ToProto(rpc::ResourceSet* proto) const;

  FixedPoint Get(const std::string& name) const;
  void Set(const std::string& name, FixedPoint value);
  bool Empty() const { return quantities_.empty(); }
  const std::map<std::string, FixedPoint>& quantities() const { return quantities_; }

  // True when every quantity here is at most the one in `other`.
  bool IsSubsetOf(const ResourceSet& other) const;
  ResourceSet& operator+=(const ResourceSet& other);
  ResourceSet& operator-=(const ResourceSet& other);
  friend ResourceSet operator+(ResourceSet a, const ResourceSet& b) { return a += b; }
  friend ResourceSet operator-(ResourceSet a, const ResourceSet& b) { return a -= b; }
  friend bool operator==(const ResourceSet& a, const ResourceSet& b) { return a.quantities_ == b.quantities_; }
  friend bool operator<(const ResourceSet& a, const ResourceSet& b) { return a.quantities_ < b.quantities_; }

  std::unordered_map<std::string, double> ToDoubles() const;
  // "{CPU: 1, GPU: 0.5}".
  std::string ToString() const;

 private:
  std::map<std::string, FixedPoint> quantities_;
};

}  // namespace orrery
