#include "src/common/openssl_lifetime.h"

#include <openssl/crypto.h>

namespace orrery {

bool KeepOpenSslUntilExit() {
  // Only the first initialization in the process decides whether the handler is installed:
  // this runs before main, before gRPC or anything else initializes OpenSSL.
  return OPENSSL_init_crypto(OPENSSL_INIT_NO_ATEXIT, nullptr) == 1;
}

}  // namespace orrery
