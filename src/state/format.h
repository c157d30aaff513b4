// How the CLI writes times, sizes, resources and command lines for a person, shared so that
// `orrery status`, `orrery job` and `orrery list` show the same thing the same way.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "src/common/resource_set.h"

namespace orrery::state {

// "42s", "5m 3s", "2h 7m": a span of time for a person.
std::string HumanDuration(int64_t ms);

// "850us", "12.3ms", "4.56s", then as HumanDuration: a span short enough for a task to take.
std::string PreciseDuration(int64_t us);

// "2026-11-27 21:54:23" in local time; "-" for a time that has not come (0 or less).
std::string LocalTime(int64_t ms);

// Milliseconds since the Unix epoch, now.
int64_t NowMs();

// "1.5 GiB", "12 MiB", "0 B": bytes for a person.
std::string HumanBytes(uint64_t bytes);

// "used/total" for each resource of `total`, `separator` apart, e.g. "CPU 1/2 GPU 0/1"; "-"
// when there is none.
std::string ResourceUsage(const ResourceSet& total, const ResourceSet& available, const std::string& separator);

// The argv as one line; an argument that a shell would split or expand is shown in single
// quotes, so that `sh -c 'a; b'` does not read as four arguments.
std::string QuotedCommandLine(const std::vector<std::string>& argv);

}  // namespace orrery::state
