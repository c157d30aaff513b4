#include "src/common/directory_package.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/testing/status_matchers.h"

namespace orrery {
namespace {

using ::orrery::testing::StatusIs;
using ::testing::HasSubstr;

constexpr int64_t kNoLimit = int64_t{1} << 40;

void WriteFile(const std::string& path, const std::string& content, mode_t mode = 0644) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << content;
  ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

void MakeDir(const std::string& path, mode_t mode = 0755) {
  ASSERT_EQ(mkdir(path.c_str(), 0700), 0) << path;
  ASSERT_EQ(chmod(path.c_str(), mode), 0) << path;
}

mode_t ModeOf(const std::string& path) {
  struct stat st;
  EXPECT_EQ(lstat(path.c_str(), &st), 0) << path;
  return st.st_mode & 07777;
}

std::string ReadLink(const std::string& path) {
  char target[PATH_MAX];
  ssize_t n = readlink(path.c_str(), target, sizeof(target));
  return n < 0 ? "<not a symlink>" : std::string(target, n);
}

// Names in `dir`, sorted; empty when it is missing.
std::vector<std::string> List(const std::string& dir) {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) names.push_back(entry.path().filename());
  std::sort(names.begin(), names.end());
  return names;
}

// Everything below `dir` as path -> "type mode content", to compare two trees whole.
void Snapshot(const std::string& dir, const std::string& rel, std::map<std::string, std::string>* out) {
  for (const std::string& name : List(rel.empty() ? dir : dir + "/" + rel)) {
    std::string child = rel.empty() ? name : rel + "/" + name;
    std::string path = dir + "/" + child;
    struct stat st;
    ASSERT_EQ(lstat(path.c_str(), &st), 0) << path;
    std::string mode = std::to_string(st.st_mode & 07777);
    if (S_ISLNK(st.st_mode)) {
      (*out)[child] = "l " + ReadLink(path);
    } else if (S_ISDIR(st.st_mode)) {
      (*out)[child] = "d " + mode;
      Snapshot(dir, child, out);
    } else {
      (*out)[child] = "f " + mode + " " + ReadFile(path);
    }
  }
}

std::map<std::string, std::string> Snapshot(const std::string& dir) {
  std::map<std::string, std::string> out;
  Snapshot(dir, "", &out);
  return out;
}

// Builds a package by hand from the format in the header, to craft ones PackDirectory never makes.
void PutLittleEndian(uint64_t value, int width, std::string* out) {
  for (int i = 0; i < width; ++i) out->push_back(static_cast<char>(value >> (8 * i)));
}

std::string EncodeEntry(char type, uint32_t mode, const std::string& path, const std::string& payload = "") {
  std::string out(1, type);
  PutLittleEndian(mode, 4, &out);
  PutLittleEndian(path.size(), 4, &out);
  out += path;
  PutLittleEndian(payload.size(), 8, &out);
  return out + payload;
}

std::string EncodePackage(const std::vector<std::string>& entries) {
  std::string out("ORRPKG1\n");
  PutLittleEndian(entries.size(), 8, &out);
  for (const std::string& entry : entries) out += entry;
  return out;
}

class DirectoryPackageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char pattern[] = "/tmp/dirpkg-test-XXXXXX";
    ASSERT_NE(mkdtemp(pattern), nullptr);
    root_ = pattern;
  }

  // Read-only directories under the root are made writable first, or a non-root user could not
  // remove what is below them.
  void TearDown() override {
    std::error_code ec;
    chmod(root_.c_str(), 0700);
    for (auto it = std::filesystem::recursive_directory_iterator(root_, ec);
         it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
      if (it->is_directory() && !it->is_symlink()) chmod(it->path().c_str(), 0700);
    }
    std::filesystem::remove_all(root_, ec);
  }

  // A folder `name` under the root holding a little of everything.
  std::string MakeSampleTree(const std::string& name) {
    std::string dir = root_ + "/" + name;
    MakeDir(dir);
    MakeDir(dir + "/a");
    MakeDir(dir + "/a/b");
    WriteFile(dir + "/a/b/c.txt", "hello");
    WriteFile(dir + "/a.txt", "sorted between a and a/b by name, after both by path");
    MakeDir(dir + "/a/empty", 0750);
    WriteFile(dir + "/run.sh", "#!/bin/sh\necho hi\n", 0755);
    WriteFile(dir + "/nul.bin", std::string("\0\x01\0\xff\0", 5), 0600);
    EXPECT_EQ(symlink("a/b/c.txt", (dir + "/link").c_str()), 0);
    EXPECT_EQ(symlink("../../nowhere/at all", (dir + "/dangling").c_str()), 0);
    MakeDir(dir + "/readonly");
    WriteFile(dir + "/readonly/inside", "still unpacked", 0444);
    chmod((dir + "/readonly").c_str(), 0555);
    return dir;
  }

  std::string root_;
};

TEST_F(DirectoryPackageTest, RoundTripKeepsContentModesEmptyDirsAndSymlinks) {
  std::string src = MakeSampleTree("src");
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + (i >> 12));
  WriteFile(src + "/a/big.bin", big);

  WriteFile(src + "/shared.sh", "everyone may write", 0777);
  absl::StatusOr<DirectoryPackage> package = PackDirectory(src, 16 << 20);
  ASSERT_OK(package);
  EXPECT_EQ(package->sha256_hex, Sha256Hex(package->bytes));
  // A strict umask while unpacking: recorded modes must still come out exactly.
  mode_t old_umask = umask(077);
  EXPECT_EQ(package->sha256_hex.size(), 64u);

  // Missing parents are created; the folder lands under its hash as callers name it.
  std::string parent = root_ + "/cache/pkgs";
  std::string dest = parent + "/" + package->sha256_hex;
  absl::Status unpacked = UnpackDirectory(package->bytes, dest);
  umask(old_umask);
  ASSERT_OK(unpacked);

  EXPECT_EQ(Snapshot(dest), Snapshot(src));
  EXPECT_EQ(ModeOf(dest + "/run.sh"), 0755u);
  EXPECT_EQ(access((dest + "/run.sh").c_str(), X_OK), 0);
  EXPECT_EQ(ModeOf(dest + "/a/empty"), 0750u);
  EXPECT_TRUE(List(dest + "/a/empty").empty());
  EXPECT_EQ(ReadLink(dest + "/link"), "a/b/c.txt");
  EXPECT_EQ(ReadLink(dest + "/dangling"), "../../nowhere/at all");
  EXPECT_EQ(ReadFile(dest + "/nul.bin"), std::string("\0\x01\0\xff\0", 5));
  EXPECT_EQ(ReadFile(dest + "/a/big.bin"), big);
  EXPECT_EQ(ModeOf(dest + "/readonly"), 0555u);
  EXPECT_EQ(ReadFile(dest + "/readonly/inside"), "still unpacked");
  EXPECT_EQ(ModeOf(dest), 0755u);
  // No temporary sibling is left beside it.
  EXPECT_EQ(List(parent), std::vector<std::string>{package->sha256_hex});
}

TEST_F(DirectoryPackageTest, FormatIsTheOneTheHeaderDocuments) {
  std::string dir = root_ + "/doc";
  MakeDir(dir);
  MakeDir(dir + "/a", 0750);
  WriteFile(dir + "/a/x", "hi", 0640);
  ASSERT_EQ(symlink("a/x", (dir + "/l").c_str()), 0);
  absl::StatusOr<DirectoryPackage> package = PackDirectory(dir, kNoLimit);
  ASSERT_OK(package);
  EXPECT_EQ(package->bytes, EncodePackage({EncodeEntry('d', 0750, "a"), EncodeEntry('f', 0640, "a/x", "hi"),
                                           EncodeEntry('l', 0, "l", "a/x")}));
}

TEST_F(DirectoryPackageTest, EqualContentPacksToEqualBytesWhateverTheOrderAndTimes) {
  std::string first = MakeSampleTree("first");
  // The same content, created in the opposite order.
  std::string second = root_ + "/second";
  MakeDir(second);
  MakeDir(second + "/readonly");
  WriteFile(second + "/readonly/inside", "still unpacked", 0444);
  chmod((second + "/readonly").c_str(), 0555);
  ASSERT_EQ(symlink("../../nowhere/at all", (second + "/dangling").c_str()), 0);
  ASSERT_EQ(symlink("a/b/c.txt", (second + "/link").c_str()), 0);
  WriteFile(second + "/nul.bin", std::string("\0\x01\0\xff\0", 5), 0600);
  WriteFile(second + "/run.sh", "#!/bin/sh\necho hi\n", 0755);
  WriteFile(second + "/a.txt", "sorted between a and a/b by name, after both by path");
  MakeDir(second + "/a");
  MakeDir(second + "/a/empty", 0750);
  MakeDir(second + "/a/b");
  WriteFile(second + "/a/b/c.txt", "hello");

  absl::StatusOr<DirectoryPackage> a = PackDirectory(first, kNoLimit);
  absl::StatusOr<DirectoryPackage> b = PackDirectory(second, kNoLimit);
  ASSERT_OK(a);
  ASSERT_OK(b);
  EXPECT_EQ(a->bytes, b->bytes);
  EXPECT_EQ(a->sha256_hex, b->sha256_hex);

  // Times are not packed.
  struct timespec old_times[2] = {{1000000, 0}, {1000000, 0}};
  ASSERT_EQ(utimensat(AT_FDCWD, (first + "/a/b/c.txt").c_str(), old_times, 0), 0);
  ASSERT_EQ(utimensat(AT_FDCWD, (first + "/a").c_str(), old_times, 0), 0);
  absl::StatusOr<DirectoryPackage> touched = PackDirectory(first, kNoLimit);
  ASSERT_OK(touched);
  EXPECT_EQ(touched->sha256_hex, a->sha256_hex);

  // One byte of content, or one permission bit, does change it.
  WriteFile(first + "/a/b/c.txt", "hellO");
  absl::StatusOr<DirectoryPackage> changed = PackDirectory(first, kNoLimit);
  ASSERT_OK(changed);
  EXPECT_NE(changed->sha256_hex, a->sha256_hex);
  WriteFile(first + "/a/b/c.txt", "hello", 0600);
  absl::StatusOr<DirectoryPackage> chmodded = PackDirectory(first, kNoLimit);
  ASSERT_OK(chmodded);
  EXPECT_NE(chmodded->sha256_hex, a->sha256_hex);
}

TEST(Sha256HexTest, MatchesKnownVectors) {
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(Sha256Hex(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_F(DirectoryPackageTest, AFolderOverTheLimitIsOutOfRangeNamingFolderAndLimit) {
  std::string one_big = root_ + "/one_big";
  MakeDir(one_big);
  WriteFile(one_big + "/big", std::string(2 << 20, 'x'));
  EXPECT_THAT(PackDirectory(one_big, 1 << 20),
              StatusIs(absl::StatusCode::kOutOfRange,
                       HasSubstr("working directory " + one_big + " is over the limit of 1048576 bytes (1.0 MiB)")));

  // Many files each under the limit add up past it.
  std::string many_small = root_ + "/many_small";
  MakeDir(many_small);
  for (int i = 0; i < 40; ++i) WriteFile(many_small + "/f" + std::to_string(i), std::string(64 << 10, 'y'));
  EXPECT_THAT(PackDirectory(many_small, 1 << 20),
              StatusIs(absl::StatusCode::kOutOfRange, HasSubstr(many_small)));
  EXPECT_OK(PackDirectory(many_small, 4 << 20));
}

TEST_F(DirectoryPackageTest, AMissingFolderOrAFileIsInvalidArgumentNamingIt) {
  std::string missing = root_ + "/missing";
  EXPECT_THAT(PackDirectory(missing, kNoLimit), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(missing)));
  std::string file = root_ + "/file";
  WriteFile(file, "not a folder");
  EXPECT_THAT(PackDirectory(file, kNoLimit), StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(file)));
}

TEST_F(DirectoryPackageTest, AFifoInsideIsInvalidArgumentNamingIt) {
  std::string dir = root_ + "/with_fifo";
  MakeDir(dir);
  MakeDir(dir + "/sub");
  ASSERT_EQ(mkfifo((dir + "/sub/pipe").c_str(), 0644), 0);
  EXPECT_THAT(PackDirectory(dir, kNoLimit),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr(dir + "/sub/pipe is a fifo")));
}

TEST_F(DirectoryPackageTest, AnUnreadableFileNamesPathAndErrno) {
  if (geteuid() == 0) GTEST_SKIP() << "root reads any file";
  std::string dir = root_ + "/unreadable";
  MakeDir(dir);
  WriteFile(dir + "/secret", "x", 0000);
  absl::StatusOr<DirectoryPackage> package = PackDirectory(dir, kNoLimit);
  EXPECT_THAT(package.status().message(), HasSubstr(dir + "/secret"));
  EXPECT_THAT(package.status().message(), HasSubstr("Permission denied"));
}

// Unpacks `bytes` into <root>/out/dest, expects `code`, and expects nothing left under <root>/out
// (no dest, no temporary copy) nor in <root>/outside, where crafted paths point.
class UnpackRefusalTest : public DirectoryPackageTest {
 protected:
  void SetUp() override {
    DirectoryPackageTest::SetUp();
    MakeDir(out_ = root_ + "/out");
    MakeDir(outside_ = root_ + "/outside");
  }

  void ExpectRefused(const std::string& bytes, absl::StatusCode code, const std::string& message_part) {
    EXPECT_THAT(UnpackDirectory(bytes, out_ + "/dest"), StatusIs(code, HasSubstr(message_part)));
    EXPECT_TRUE(List(out_).empty()) << ::testing::PrintToString(List(out_));
    EXPECT_TRUE(List(outside_).empty()) << ::testing::PrintToString(List(outside_));
    EXPECT_FALSE(std::filesystem::exists(root_ + "/evil"));
  }

  std::string out_;
  std::string outside_;
};

TEST_F(UnpackRefusalTest, HandBuiltPackageUnpacksSoTheRefusalsBelowAreForTheirReason) {
  ASSERT_OK(UnpackDirectory(EncodePackage({EncodeEntry('d', 0755, "a"), EncodeEntry('f', 0644, "a/x", "hi")}),
                            out_ + "/dest"));
  EXPECT_EQ(ReadFile(out_ + "/dest/a/x"), "hi");
}

TEST_F(UnpackRefusalTest, TruncatedOrTrailingBytesAreDataLoss) {
  std::string src = MakeSampleTree("src");
  absl::StatusOr<DirectoryPackage> package = PackDirectory(src, kNoLimit);
  ASSERT_OK(package);
  // Every cut, including those at an entry boundary, which the entry count catches.
  for (size_t size = 0; size < package->bytes.size(); ++size) {
    SCOPED_TRACE(size);
    ExpectRefused(package->bytes.substr(0, size), absl::StatusCode::kDataLoss, "");
  }
  ExpectRefused(package->bytes + "x", absl::StatusCode::kDataLoss, "after the last entry");
}

TEST_F(UnpackRefusalTest, BadMagicOrVersionIsDataLoss) {
  std::string good = EncodePackage({EncodeEntry('d', 0755, "a")});
  std::string bad_magic = good;
  bad_magic[0] = 'X';
  ExpectRefused(bad_magic, absl::StatusCode::kDataLoss, "bad magic");
  std::string bad_version = good;
  bad_version[6] = '2';
  ExpectRefused(bad_version, absl::StatusCode::kDataLoss, "bad magic");
  ExpectRefused(EncodePackage({EncodeEntry('x', 0644, "a")}), absl::StatusCode::kDataLoss, "unknown entry type");
}

TEST_F(UnpackRefusalTest, PathsThatCouldEscapeOrCollideAreInvalidArgument) {
  auto file = [](const std::string& path) { return EncodeEntry('f', 0644, path, "evil"); };
  ExpectRefused(EncodePackage({file("../evil")}), absl::StatusCode::kInvalidArgument, "'..'");
  ExpectRefused(EncodePackage({EncodeEntry('d', 0755, "a"), file("a/../../evil")}),
                absl::StatusCode::kInvalidArgument, "'..'");
  ExpectRefused(EncodePackage({file(outside_ + "/evil")}), absl::StatusCode::kInvalidArgument, "absolute");
  ExpectRefused(EncodePackage({file("")}), absl::StatusCode::kInvalidArgument, "empty");
  ExpectRefused(EncodePackage({EncodeEntry('d', 0755, "a"), file("a//x")}), absl::StatusCode::kInvalidArgument,
                "empty component");
  ExpectRefused(EncodePackage({EncodeEntry('d', 0755, "a"), file("a/./x")}), absl::StatusCode::kInvalidArgument,
                "'.'");
  ExpectRefused(EncodePackage({file("x"), file("x")}), absl::StatusCode::kInvalidArgument, "repeats");
  ExpectRefused(EncodePackage({file(std::string("x\0/../../evil", 13))}), absl::StatusCode::kInvalidArgument,
                "NUL");
  // A symlink to outside, then a file "through" it.
  ExpectRefused(EncodePackage({EncodeEntry('l', 0, "l", outside_), file("l/evil")}),
                absl::StatusCode::kInvalidArgument, "below a symlink");
  ExpectRefused(EncodePackage({file("nodir/evil")}), absl::StatusCode::kInvalidArgument, "parent directory");
}

// Regression (issue 23, found by tests/fuzz/fuzz_directory_package): no folder holds a symlink
// with an empty target, yet the parser let one through, and symlink() then failed with a
// misleading NotFound ("No such file or directory") instead of the package being refused.
TEST_F(UnpackRefusalTest, ASymlinkWithAnEmptyTargetIsInvalidArgument) {
  ExpectRefused(EncodePackage({EncodeEntry('l', 0, "l", "")}), absl::StatusCode::kInvalidArgument,
                "empty symlink target");
}

TEST_F(DirectoryPackageTest, AnExistingDestIsLeftUntouched) {
  std::string src = MakeSampleTree("src");
  absl::StatusOr<DirectoryPackage> package = PackDirectory(src, kNoLimit);
  ASSERT_OK(package);
  std::string parent = root_ + "/cache";
  std::string dest = parent + "/" + package->sha256_hex;
  MakeDir(parent);
  MakeDir(dest, 0700);
  WriteFile(dest + "/mine", "old");

  ASSERT_OK(UnpackDirectory(package->bytes, dest));
  EXPECT_EQ(List(dest), std::vector<std::string>{"mine"});
  EXPECT_EQ(ReadFile(dest + "/mine"), "old");
  EXPECT_EQ(ModeOf(dest), 0700u);
  EXPECT_EQ(List(parent), std::vector<std::string>{package->sha256_hex});
}

}  // namespace
}  // namespace orrery
