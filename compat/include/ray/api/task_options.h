/// Ray's <ray/api/task_options.h>, which programs include directly: all of ray_compat is in <ray/api.h>.
#pragma once

#include "ray/api.h"
