// Session directories (src/common/session.h): layout, session_latest, cluster record, token, pid records.
#include "src/common/session.h"

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "src/common/file_util.h"
#include "src/common/process.h"
#include "tests/testing/status_matchers.h"

namespace orrery {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::StartsWith;

bool IsDir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return 0;
  return st.st_mode & 0777;
}

void WriteRaw(const std::string& path, const std::string& content, mode_t mode) {
  std::ofstream(path) << content;
  ASSERT_EQ(chmod(path.c_str(), mode), 0);
}

class SessionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/orrery_session_test_XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    root_ = tmpl;
  }
  void TearDown() override { EXPECT_OK(RemoveAll(root_)); }

  std::string root_;
};

TEST_F(SessionTest, CreateSessionMakesAPrivateDirectoryWithLogsAndPids) {
  auto session = CreateSession(root_);
  ASSERT_OK(session);
  EXPECT_THAT(session->path(), StartsWith(root_ + "/session_"));
  EXPECT_TRUE(IsDir(session->path()));
  EXPECT_TRUE(IsDir(session->LogsDir()));
  EXPECT_TRUE(IsDir(session->PidsDir()));
  EXPECT_EQ(ModeOf(session->path()), 0700u);
  EXPECT_EQ(ModeOf(session->PidsDir()), 0700u);
}

TEST_F(SessionTest, SessionLatestPointsAtTheNewestSession) {
  auto first = CreateSession(root_);
  auto second = CreateSession(root_);
  ASSERT_OK(first);
  ASSERT_OK(second);
  EXPECT_NE(first->path(), second->path()) << "two sessions in one second must not collide";
  auto latest = LatestSession(root_);
  ASSERT_OK(latest);
  EXPECT_EQ(latest->path(), second->path());
  // session_latest is a relative link, so the root may be moved or mounted elsewhere.
  char target[4096];
  ssize_t n = readlink((root_ + "/session_latest").c_str(), target, sizeof(target));
  ASSERT_GT(n, 0);
  EXPECT_EQ(std::string(target, n).find('/'), std::string::npos);
}

TEST_F(SessionTest, LatestSessionOfAnEmptyRootIsNotFound) {
  EXPECT_THAT(LatestSession(root_), StatusIs(absl::StatusCode::kNotFound, HasSubstr(root_)));
  EXPECT_THAT(LatestSession(root_ + "/missing"), StatusIs(absl::StatusCode::kNotFound));
}

TEST_F(SessionTest, LatestSessionPointingAtARemovedSessionIsNotFound) {
  auto session = CreateSession(root_);
  ASSERT_OK(session);
  ASSERT_OK(RemoveAll(session->path()));
  EXPECT_THAT(LatestSession(root_), StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing")));
}

TEST_F(SessionTest, AllSessionsListsSessionDirectoriesOldestFirst) {
  EXPECT_TRUE(AllSessions(root_).empty());
  auto a = CreateSession(root_);
  auto b = CreateSession(root_);
  auto c = CreateSession(root_);
  ASSERT_OK(a);
  ASSERT_OK(b);
  ASSERT_OK(c);
  ASSERT_EQ(mkdir((root_ + "/unrelated").c_str(), 0700), 0);
  std::vector<SessionDir> all = AllSessions(root_);
  ASSERT_EQ(all.size(), 3u) << "session_latest and other entries are not sessions";
  EXPECT_EQ(all[0].path(), a->path());
  EXPECT_EQ(all[1].path(), b->path());
  EXPECT_EQ(all[2].path(), c->path());
}

TEST_F(SessionTest, ClusterRecordRoundTrips) {
  auto session = CreateSession(root_);
  ASSERT_OK(session);
  ClusterRecord record;
  record.gcs_address = "10.0.0.1:6391";
  record.cluster_id = "abcdef";
  record.version = "1.2.3";
  record.created_ms = 1234567890123;
  record.head = true;
  ASSERT_OK(WriteClusterRecord(*session, record));
  auto read = ReadClusterRecord(*session);
  ASSERT_OK(read);
  EXPECT_EQ(read->gcs_address, record.gcs_address);
  EXPECT_EQ(read->cluster_id, record.cluster_id);
  EXPECT_EQ(read->version, record.version);
  EXPECT_EQ(read->created_ms, record.created_ms);
  EXPECT_TRUE(read->head);
}

TEST_F(SessionTest, AGarbageClusterRecordIsDataLoss) {
  auto session = CreateSession(root_);
  ASSERT_OK(session);
  EXPECT_THAT(ReadClusterRecord(*session), StatusIs(absl::StatusCode::kNotFound));
  WriteRaw(session->ClusterFile(), "{not json", 0644);
  EXPECT_THAT(ReadClusterRecord(*session),
              StatusIs(absl::StatusCode::kDataLoss, HasSubstr(session->ClusterFile())));
  WriteRaw(session->ClusterFile(), R"({"gcs_address": 5})", 0644);
  EXPECT_THAT(ReadClusterRecord(*session), StatusIs(absl::StatusCode::kDataLoss));
}

// Regression (issue 23, found by tests/fuzz/fuzz_session_files): a field of the wrong type threw
// nlohmann's type_error out of the reader (terminating the CLI or driver that read the file), and
// a huge double in an integer field was an out-of-range float-to-int conversion.
TEST_F(SessionTest, ARecordWithAFieldOfTheWrongTypeIsDataLoss) {
  auto session = CreateSession(root_);
  ASSERT_OK(session);
  for (const char* record :
       {R"({"gcs_address": "h:1", "cluster_id": 7})", R"({"gcs_address": "h:1", "created_ms": "soon"})",
        R"({"gcs_address": "h:1", "created_ms": 1e300})", R"({"gcs_address": "h:1", "head": 1})"}) {
    WriteRaw(session->ClusterFile(), record, 0644);
    EXPECT_THAT(ReadClusterRecord(*session), StatusIs(absl::StatusCode::kDataLoss)) << record;
  }
  const NodeId node = NodeId::FromRandom();
  ASSERT_EQ(mkdir(session->NodeDir(node).c_str(), 0700), 0);
  for (const char* settings : {R"({"bind_all": "yes"})", R"({"gcs_lost_timeout_ms": 1e300})"}) {
    WriteRaw(session->NodeSettingsFile(node), settings, 0600);
    EXPECT_THAT(ReadNodeSettings(*session, node), StatusIs(absl::StatusCode::kDataLoss)) << settings;
  }
}

TEST_F(SessionTest, TokensAreRandomHexWrittenOwnerOnlyAndReadBack) {
  std::string token = GenerateToken();
  EXPECT_EQ(token.size(), 64u);
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos);
  EXPECT_NE(token, GenerateToken());
  std::string path = root_ + "/token";
  ASSERT_OK(WriteToken(path, token));
  EXPECT_EQ(ModeOf(path), 0600u);
  auto read = ReadToken(path);
  ASSERT_OK(read);
  EXPECT_EQ(*read, token) << "the trailing newline is trimmed";
}

TEST_F(SessionTest, ReadTokenRefusesAFileOthersCanRead) {
  std::string path = root_ + "/token";
  WriteRaw(path, "secret\n", 0644);
  EXPECT_THAT(ReadToken(path), StatusIs(absl::StatusCode::kPermissionDenied, AllOf(HasSubstr(path), HasSubstr("0600"))));
  ASSERT_EQ(chmod(path.c_str(), 0640), 0);
  EXPECT_THAT(ReadToken(path), StatusIs(absl::StatusCode::kPermissionDenied));
}

TEST_F(SessionTest, ReadTokenRefusesAnEmptyOrMissingFile) {
  std::string path = root_ + "/token";
  WriteRaw(path, "  \n", 0600);
  EXPECT_THAT(ReadToken(path), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("empty")));
  EXPECT_THAT(ReadToken(root_ + "/missing"), StatusIs(absl::StatusCode::kNotFound, HasSubstr("missing")));
}

TEST_F(SessionTest, APidRecordOfThisProcessIsAlive) {
  auto session = CreateSession(root_);
  ASSERT_OK(session);
  ASSERT_OK(WritePidRecord(*session, "gcs", getpid()));
  std::vector<PidRecord> records = ReadPidRecords(*session);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].name, "gcs");
  EXPECT_EQ(records[0].pid, getpid());
  EXPECT_EQ(records[0].path, session->PidsDir() + "/gcs.pid");
  EXPECT_TRUE(PidRecordAlive(records[0]));
}

TEST_F(SessionTest, APidRecordWithAnotherStartTimeIsAReusedPidAndNotAlive) {
  auto session = CreateSession(root_);
  ASSERT_OK(session);
  ASSERT_OK(WritePidRecord(*session, "raylet-1", getpid()));
  std::vector<PidRecord> records = ReadPidRecords(*session);
  ASSERT_EQ(records.size(), 1u);
  PidRecord reused = records[0];
  reused.start_time += 1;
  EXPECT_FALSE(PidRecordAlive(reused));
}

TEST_F(SessionTest, APidRecordOfAnExitedProcessIsNotAlive) {
  auto session = CreateSession(root_);
  ASSERT_OK(session);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    pause();
    _exit(0);
  }
  ASSERT_OK(WritePidRecord(*session, "worker", child));
  std::vector<PidRecord> records = ReadPidRecords(*session);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_TRUE(PidRecordAlive(records[0]));
  ASSERT_EQ(kill(child, SIGKILL), 0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  EXPECT_FALSE(PidRecordAlive(records[0]));
}

TEST_F(SessionTest, ReadPidRecordsSkipsMalformedFiles) {
  auto session = CreateSession(root_);
  ASSERT_OK(session);
  ASSERT_OK(WritePidRecord(*session, "gcs", getpid()));
  WriteRaw(session->PidsDir() + "/broken.pid", "not a record\n", 0600);
  WriteRaw(session->PidsDir() + "/notes.txt", "123 456\n", 0600);
  std::vector<PidRecord> records = ReadPidRecords(*session);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0].name, "gcs");
}

TEST_F(SessionTest, WritePidRecordOfAMissingProcessFails) {
  auto session = CreateSession(root_);
  ASSERT_OK(session);
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) _exit(0);
  ASSERT_EQ(waitpid(child, nullptr, 0), child);
  EXPECT_THAT(WritePidRecord(*session, "gone", child), StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace orrery
