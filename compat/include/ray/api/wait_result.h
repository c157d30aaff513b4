/// Ray's <ray/api/wait_result.h>, which programs include directly: all of ray_compat is in <ray/api.h>.
#pragma once

#include "ray/api.h"
