/// Ray's <ray/api/object_ref.h>, which programs include directly: all of ray_compat is in <ray/api.h>.
#pragma once

#include "ray/api.h"
