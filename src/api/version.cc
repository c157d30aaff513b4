#include "orrery/version.h"

namespace orrery {

const char* LibraryVersion() { return ORRERY_VERSION_STRING; }

}  // namespace orrery
