// Token comparison (src/rpc/auth.h): equal only when every byte and the length agree.
#include "src/rpc/auth.h"

#include <string>

#include "gmock/gmock.h"
#include "grpcpp/security/auth_metadata_processor.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace orrery::rpc {
namespace {

TEST(TokensEqualTest, EqualTokensMatch) {
  EXPECT_TRUE(TokensEqual("secret-token", "secret-token"));
  EXPECT_TRUE(TokensEqual("", ""));
  std::string with_nul("a\0b", 3);
  EXPECT_TRUE(TokensEqual(with_nul, std::string("a\0b", 3)));
}

TEST(TokensEqualTest, ADifferenceAnywhereIsAMismatch) {
  EXPECT_FALSE(TokensEqual("secret-token", "Secret-token"));
  EXPECT_FALSE(TokensEqual("secret-token", "secret-tokeN"));
  EXPECT_FALSE(TokensEqual("secret-token", "secret_token"));
  EXPECT_FALSE(TokensEqual(std::string("a\0b", 3), std::string("a\0c", 3)));
}

TEST(TokensEqualTest, APrefixOrExtensionIsAMismatch) {
  EXPECT_FALSE(TokensEqual("secret", "secret-token"));
  EXPECT_FALSE(TokensEqual("secret-token", "secret"));
  // A shorter token padded with what the comparison pads with must still differ.
  EXPECT_FALSE(TokensEqual("abc", std::string("abc\0", 4)));
  EXPECT_FALSE(TokensEqual(std::string("abc\0", 4), "abc"));
}

TEST(TokensEqualTest, AnEmptyTokenMatchesOnlyAnEmptyOne) {
  EXPECT_FALSE(TokensEqual("", "x"));
  EXPECT_FALSE(TokensEqual("x", ""));
  EXPECT_FALSE(TokensEqual("", std::string(1, '\0')));
}

using ::orrery::testing::StatusIs;
using ::testing::HasSubstr;

TEST(TokenAuthenticatorTest, CheckTokenSaysWhetherTheTokenWasMissingOrWrong) {
  TokenAuthenticator auth("test service", "secret-token");
  EXPECT_OK(auth.CheckToken("secret-token", "peer"));
  EXPECT_THAT(auth.CheckToken(std::nullopt, "peer"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("no cluster token")));
  EXPECT_THAT(auth.CheckToken("", "peer"), StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("no cluster token")))
      << "an empty token is no token";
  EXPECT_THAT(auth.CheckToken("secret", "peer"),
              StatusIs(absl::StatusCode::kUnauthenticated, HasSubstr("wrong cluster token")));
}

// Blocking processors are run on a thread pool of gRPC's C++ layer; ours must run inline.
TEST(TokenMetadataProcessorTest, RunsInlineOnGrpcsThread) {
  EXPECT_FALSE(MakeTokenMetadataProcessor("test service", "secret-token")->IsBlocking());
}

}  // namespace
}  // namespace orrery::rpc
