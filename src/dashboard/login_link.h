// The one-time login links `orrery dashboard` prints (https://HEAD:8265/login#once=<nonce>):
// the CLI, holding the token, puts a random nonce in the GCS's KV; the dashboard takes it out
// at the login that shows it, so that a link logs in once, within its lifetime.
#pragma once

#include <cstdint>

namespace orrery::dashboard {

// KV namespace of the nonces: key the nonce (hex), value its expiry (ms since the epoch).
inline constexpr char kLoginLinkNamespace[] = "dashboard_login";
inline constexpr int64_t kLoginLinkLifetimeMs = 5 * 60 * 1000;
inline constexpr int kLoginLinkNonceBytes = 32;

}  // namespace orrery::dashboard
