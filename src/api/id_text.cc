// The form ids take in a program's hands (see include/orrery/internal/id_text.h).
#include "orrery/internal/id_text.h"

#include <atomic>

#include "orrery/errors.h"
#include "src/common/id.h"
#include "src/common/placement_group.h"

namespace orrery::internal {

namespace {

std::atomic<bool> ray_id_form{false};

// `what` names the kind of id in errors: "an object id".
template <typename Id>
Id IdOfText(const std::string& text, const char* what) {
  absl::StatusOr<Id> id = text.size() == Id::kSize ? Id::FromBinary(text) : Id::FromHex(text);
  if (!id.ok()) {
    throw OrreryException(std::string("not ") + what + " (" + std::to_string(Id::kSize) + " bytes, or " +
                          std::to_string(2 * Id::kSize) + " hex digits): " + std::string(id.status().message()));
  }
  return *id;
}

template <typename Id>
std::string TextOf(const Id& id) {
  return InRayIdForm() ? id.Binary() : id.Hex();
}

}  // namespace

bool UseRayIdForm() {
  ray_id_form.store(true, std::memory_order_relaxed);
  return true;
}

bool InRayIdForm() { return ray_id_form.load(std::memory_order_relaxed); }

std::string ObjectIdText(const std::string& binary_id) {
  return binary_id.empty() ? "" : TextOf(IdOfText<ObjectId>(binary_id, "an object id"));
}

std::string ActorIdText(const std::string& binary_id) {
  return binary_id.empty() ? "" : TextOf(IdOfText<ActorId>(binary_id, "an actor id"));
}

std::string GroupIdText(const std::string& hex_id) {
  return hex_id.empty() ? "" : TextOf(IdOfText<PlacementGroupId>(hex_id, "a placement group id"));
}

std::string ObjectIdOfText(const std::string& text) {
  return text.empty() ? "" : IdOfText<ObjectId>(text, "an object id").Binary();
}

std::string ActorIdOfText(const std::string& text) {
  return text.empty() ? "" : IdOfText<ActorId>(text, "an actor id").Binary();
}

std::string GroupHexOfText(const std::string& text) {
  return text.empty() ? "" : IdOfText<PlacementGroupId>(text, "a placement group id").Hex();
}

}  // namespace orrery::internal
