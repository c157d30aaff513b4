// OpenSSL's global state lives until the process ends.
//
// By default OpenSSL frees its global state (providers, algorithm caches, per-thread error
// queues) in an atexit handler. In a process whose other threads may still be using it at exit
// (gRPC's TLS threads, a raylet unpacking a package, a transfer in flight), that handler races
// them: double frees, crashes, and state lost to the leak checker. OpenSSL's documentation says
// OPENSSL_cleanup must not run while other threads use the library, so every process that links
// code using OpenSSL asks, before main and before any use, for no such handler: the kernel takes
// the memory back at exit anyway. Every file that calls OpenSSL (or makes gRPC's SSL
// credentials, which use it) includes this header.
#pragma once

namespace orrery {

// Tells OpenSSL not to clean itself up at exit; true once done (idempotent).
bool KeepOpenSslUntilExit();

// Initialized before main in every process that links a file including this header.
inline const bool kOpenSslKeptUntilExit = KeepOpenSslUntilExit();

}  // namespace orrery
