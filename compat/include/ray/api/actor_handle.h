/// Ray's <ray/api/actor_handle.h>, which programs include directly: all of ray_compat is in <ray/api.h>.
#pragma once

#include "ray/api.h"
