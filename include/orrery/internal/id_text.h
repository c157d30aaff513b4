// How ids appear to a program: ObjectRef::ID(), ActorHandle::ID(), PlacementGroup::GetID().
//
// An Orrery program sees hex, as the CLI, the dashboard and every error message print ids. A
// program built against <ray/api.h> sees the id's bytes, as Ray's API gives them (what Ray's
// ObjectID::FromBinary takes and Binary() returns): the header switches the process to that form
// before main() runs. The form is the process's, not a translation unit's, so that every inline
// member that prints an id has one definition (a per-file macro would break that).
//
// Every function that takes an id accepts both forms: an id's bytes are half as long as its hex.
#pragma once

#include <string>

#include "orrery/export.h"

namespace orrery::internal {

// From now on, ids are given to this process's code as their bytes (Ray's form).
ORRERY_EXPORT bool UseRayIdForm();
ORRERY_EXPORT bool InRayIdForm();

// An id as this process's code sees it, from its bytes; "" for "".
ORRERY_EXPORT std::string ObjectIdText(const std::string& binary_id);
ORRERY_EXPORT std::string ActorIdText(const std::string& binary_id);
// A placement group's id as this process's code sees it, from its hex; "" for "".
ORRERY_EXPORT std::string GroupIdText(const std::string& hex_id);

// The bytes of an id given in either form; "" for "". Throws OrreryException naming what is
// wrong for a string that is neither.
ORRERY_EXPORT std::string ObjectIdOfText(const std::string& text);
ORRERY_EXPORT std::string ActorIdOfText(const std::string& text);
// A placement group's id given in either form, in hex (its form inside the runtime).
ORRERY_EXPORT std::string GroupHexOfText(const std::string& text);

}  // namespace orrery::internal
