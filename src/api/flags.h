// The --orrery_<setting> flags Init(config, argc, argv) reads (and --ray_<setting> in
// ray_compat), through one settings table; other arguments are the program's own.
#pragma once

#include "orrery/config.h"

namespace orrery::api {

// Applies the flags to `config`; a bad value throws OrreryException naming the flag.
void ApplyFlags(Config& config, int argc, char** argv, bool accept_ray_flags);

}  // namespace orrery::api
