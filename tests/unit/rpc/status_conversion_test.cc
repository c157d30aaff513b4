// absl::Status <-> grpc::Status (src/rpc/status_conversion.h): codes, messages and peer context.
#include "src/rpc/status_conversion.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace orrery::rpc {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::AllOf;
using ::testing::EndsWith;
using ::testing::HasSubstr;
using ::testing::StartsWith;

TEST(StatusConversionTest, EveryCanonicalCodeRoundTripsWithItsMessage) {
  for (int code = 1; code <= 16; ++code) {
    SCOPED_TRACE(code);
    absl::Status original(static_cast<absl::StatusCode>(code), "message " + std::to_string(code));
    grpc::Status grpc_status = ToGrpcStatus(original);
    EXPECT_EQ(static_cast<int>(grpc_status.error_code()), code);
    EXPECT_EQ(grpc_status.error_message(), original.message());
    EXPECT_EQ(FromGrpcStatus(grpc_status), original);
  }
}

TEST(StatusConversionTest, NamedCodesMatchGrpcs) {
  EXPECT_EQ(ToGrpcStatus(absl::NotFoundError("x")).error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(ToGrpcStatus(absl::UnauthenticatedError("x")).error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ToGrpcStatus(absl::UnavailableError("x")).error_code(), grpc::StatusCode::UNAVAILABLE);
  EXPECT_EQ(ToGrpcStatus(absl::DataLossError("x")).error_code(), grpc::StatusCode::DATA_LOSS);
}

TEST(StatusConversionTest, OkIsOkBothWays) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_TRUE(FromGrpcStatus(grpc::Status::OK, "GCS at 1.2.3.4:5", 100).ok());
}

TEST(StatusConversionTest, UnavailableNamesThePeerAsUnreachable) {
  grpc::Status down(grpc::StatusCode::UNAVAILABLE, "failed to connect to all addresses");
  EXPECT_THAT(FromGrpcStatus(down, "GCS at 10.0.0.1:6391"),
              StatusIs(absl::StatusCode::kUnavailable,
                       "GCS at 10.0.0.1:6391 is unreachable: failed to connect to all addresses"));
  EXPECT_THAT(FromGrpcStatus(down), StatusIs(absl::StatusCode::kUnavailable, "failed to connect to all addresses"))
      << "without a peer the message is unchanged";
}

TEST(StatusConversionTest, DeadlineExceededNamesThePeer) {
  grpc::Status slow(grpc::StatusCode::DEADLINE_EXCEEDED, "Deadline Exceeded");
  EXPECT_THAT(FromGrpcStatus(slow, "raylet at 10.0.0.2:1234"),
              StatusIs(absl::StatusCode::kDeadlineExceeded,
                       AllOf(StartsWith("raylet at 10.0.0.2:1234"), HasSubstr("did not answer in time"))));
}

TEST(StatusConversionTest, OtherCodesKeepTheServersMessageEvenWithAPeer) {
  grpc::Status missing(grpc::StatusCode::NOT_FOUND, "no such actor");
  EXPECT_THAT(FromGrpcStatus(missing, "GCS at 1.2.3.4:5", 100), StatusIs(absl::StatusCode::kNotFound, "no such actor"));
}

TEST(StatusConversionTest, ATooLargeMessageNamesTheLimit) {
  grpc::Status too_large(grpc::StatusCode::RESOURCE_EXHAUSTED, "Received message larger than max (2000 vs. 1024)");
  EXPECT_THAT(FromGrpcStatus(too_large, "GCS at 1.2.3.4:5", 1024),
              StatusIs(absl::StatusCode::kResourceExhausted,
                       AllOf(StartsWith("Received message larger than max (2000 vs. 1024)"),
                             EndsWith("(the message limit is 1024 bytes)"))));
  EXPECT_THAT(FromGrpcStatus(too_large, "GCS at 1.2.3.4:5"),
              StatusIs(absl::StatusCode::kResourceExhausted, "Received message larger than max (2000 vs. 1024)"))
      << "without a known limit the message is unchanged";
  grpc::Status quota(grpc::StatusCode::RESOURCE_EXHAUSTED, "out of memory quota");
  EXPECT_THAT(FromGrpcStatus(quota, "GCS at 1.2.3.4:5", 1024),
              StatusIs(absl::StatusCode::kResourceExhausted, "out of memory quota"));
}

}  // namespace
}  // namespace orrery::rpc
