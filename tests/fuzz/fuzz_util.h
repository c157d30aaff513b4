// Helpers the fuzz targets share: reading a structured input from the fuzzer's bytes, checking a
// property (a failed check aborts, which libFuzzer and the replay both report as a finding), and
// a temporary directory per input.
#pragma once

#include <unistd.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>

namespace orrery::fuzz {

// What the object_data target's server holds, which its seeds (make_seeds.cc) must name.
inline constexpr char kObjectDataToken[] = "fuzz-cluster-token";
inline constexpr char kObjectDataIdByte = 'o';

// A property the code under test promises. Not assert(): it must hold in Release too.
#define FUZZ_CHECK(condition, what)                                                                      \
  do {                                                                                                   \
    if (!(condition)) {                                                                                  \
      std::fprintf(stderr, "%s:%d: property violated: %s (%s)\n", __FILE__, __LINE__, what, #condition); \
      std::abort();                                                                                      \
    }                                                                                                    \
  } while (0)

// The fuzzer's bytes, consumed from the front. Running out is not an error: every Take* then
// returns zeros or empty strings, so any input means something.
class FuzzInput {
 public:
  FuzzInput(const uint8_t* data, size_t size) : data_(reinterpret_cast<const char*>(data)), size_(size) {}

  bool empty() const { return size_ == 0; }
  size_t size() const { return size_; }

  uint8_t TakeByte() {
    if (size_ == 0) return 0;
    --size_;
    return static_cast<uint8_t>(*data_++);
  }
  // A string of at most `max` bytes, its length taken from the next two bytes.
  std::string TakeString(size_t max = 4096) {
    size_t length = TakeByte();
    length = (length << 8 | TakeByte()) % (max + 1);
    return TakeBytes(length);
  }
  // A string up to the next '\n' (or the end), without it.
  std::string TakeLine() {
    std::string_view rest(data_, size_);
    size_t end = rest.find('\n');
    std::string line(rest.substr(0, end));
    size_t taken = end == std::string_view::npos ? size_ : end + 1;
    data_ += taken;
    size_ -= taken;
    return line;
  }
  std::string TakeBytes(size_t length) {
    length = std::min(length, size_);
    std::string out(data_, length);
    data_ += length;
    size_ -= length;
    return out;
  }
  std::string Rest() { return TakeBytes(size_); }

 private:
  const char* data_;
  size_t size_;
};

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it when this goes, also
// when the test left entries without permissions in it.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && *base != '\0' ? base : "/tmp") + "/orrery-fuzz-XXXXXX";
  if (mkdtemp(pattern.data()) == nullptr) {
    std::perror("mkdtemp");
    std::abort();
  }
  path_ = pattern;
}

inline TempDir::~TempDir() {
  std::error_code ec;
  // Directories the input made unreadable or unwritable (mode 0) would stop remove_all.
  for (auto it = std::filesystem::recursive_directory_iterator(path_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_directory(ec) && !it->is_symlink(ec)) {
      std::filesystem::permissions(it->path(), std::filesystem::perms::owner_all, std::filesystem::perm_options::add,
                                   ec);
    }
  }
  std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
  std::filesystem::remove_all(path_, ec);
}

}  // namespace orrery::fuzz
