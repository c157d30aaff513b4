// The working-dir package unpacker (directory_package.h): a package comes from the GCS's
// key-value store, so a peer who can write there chooses its bytes. Each input is unpacked into a
// fresh directory; the properties are the ones the header promises:
//   - nothing is created outside the destination (no '..', absolute path, or write through a
//     symlink the package made), checked by walking the whole temporary tree around it;
//   - after an error nothing is left behind;
//   - what unpacks packs again, and that package unpacks and packs to the same bytes.
#include <cstdint>
#include <string>
#include <string_view>

#include "tests/fuzz/fuzz_util.h"

#include "src/common/directory_package.h"

namespace orrery::fuzz {
namespace {

namespace fs = std::filesystem;

// Every path under `outer`, relative to it, symlinks not followed.
std::vector<std::string> Tree(const fs::path& outer) {
  std::vector<std::string> paths;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(outer, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    // lexically: fs::relative would resolve a symlink the package made (and leave the tree).
    paths.push_back(it->path().lexically_relative(outer).string());
  }
  FUZZ_CHECK(!ec, "the unpacked tree can be walked");
  return paths;
}

bool Within(std::string_view path, std::string_view dir) {
  return path == dir || (path.size() > dir.size() && path.substr(0, dir.size()) == dir && path[dir.size()] == '/');
}

// A package large enough for any input libFuzzer makes (-max_len) and small enough to fail fast.
constexpr int64_t kMaxPackBytes = 16 << 20;

}  // namespace
}  // namespace orrery::fuzz

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace orrery;
  using namespace orrery::fuzz;
  TempDir outer;
  // outer/base/pkg: a '..' out of pkg lands in base, one more in outer; both are walked.
  const fs::path base = outer.path() / "base";
  const fs::path dest = base / "pkg";
  fs::create_directory(base);
  absl::Status status = UnpackDirectory(std::string_view(reinterpret_cast<const char*>(data), size), dest.string());
  for (const std::string& path : Tree(outer.path())) {
    FUZZ_CHECK(path == "base" || Within(path, "base/pkg"), "nothing is written outside the destination");
    FUZZ_CHECK(status.ok() || path == "base", "a failed unpack leaves nothing behind");
  }
  // Any code: the parser's refusals are DataLoss or InvalidArgument, but the OS may refuse
  // what parses (a name longer than NAME_MAX), with its errno's code.
  if (!status.ok()) return 0;
  auto packed = PackDirectory(dest.string(), kMaxPackBytes);
  FUZZ_CHECK(packed.ok(), "an unpacked package packs");
  const fs::path again = base / "again";
  FUZZ_CHECK(UnpackDirectory(packed->bytes, again.string()).ok(), "a package we packed unpacks");
  auto repacked = PackDirectory(again.string(), kMaxPackBytes);
  FUZZ_CHECK(repacked.ok() && repacked->bytes == packed->bytes, "unpacking and packing again changes nothing");
  return 0;
}
