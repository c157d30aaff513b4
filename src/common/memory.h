// Large memory operations that page faults dominate: on fresh memory a copy spends most of its
// time faulting pages in, one at a time, and that work runs in parallel on several cores.
#pragma once

#include <cstddef>

namespace orrery {

// Copies `size` bytes, in parallel page-aligned pieces when there are many.
void ParallelCopy(void* dst, const void* src, size_t size);

// Makes the whole pages of [p, p + size) present and writable now (MADV_POPULATE_WRITE, in
// parallel for large ranges), so that writing there later takes no faults. Never changes a
// byte. False where the kernel cannot (before Linux 5.14): then nothing happened.
bool PopulateForWrite(void* p, size_t size);

}  // namespace orrery
