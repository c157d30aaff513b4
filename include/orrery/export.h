// ORRERY_EXPORT marks what liborrery exports; everything else in it is hidden.
#pragma once

#define ORRERY_EXPORT __attribute__((visibility("default")))
