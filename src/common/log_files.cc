#include "src/common/log_files.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace orrery {

namespace {

constexpr int64_t kDefaultReadBytes = 1 << 20;
constexpr int64_t kLargestReadBytes = 4 << 20;
// How far back from the end a tail looks for its lines.
constexpr int64_t kLongestTail = 64 << 20;

absl::Status CheckName(const std::string& name) {
  if (name.empty() || name[0] == '.' || name.find('/') != std::string::npos) {
    return absl::InvalidArgumentError("'" + name + "' is not the name of a log file (see `orrery logs` for them)");
  }
  return absl::OkStatus();
}

// Where the last `lines` lines of the file start (a final newline ends the last line).
int64_t TailStart(int fd, int64_t size, int64_t lines) {
  char buffer[64 * 1024];
  int64_t end = size;
  int64_t newlines = 0;
  bool skipped_final = false;
  while (end > 0 && size - end < kLongestTail) {
    int64_t start = std::max<int64_t>(0, end - static_cast<int64_t>(sizeof(buffer)));
    ssize_t got = pread(fd, buffer, static_cast<size_t>(end - start), start);
    if (got <= 0) break;
    for (int64_t i = got - 1; i >= 0; --i) {
      if (buffer[i] != '\n') continue;
      if (!skipped_final && start + i == size - 1) {
        skipped_final = true;
        continue;
      }
      if (++newlines == lines) return start + i + 1;
    }
    end = start;
  }
  return end;
}

}  // namespace

absl::StatusOr<std::vector<rpc::LogFile>> ListLogFiles(const std::string& dir, const std::string& prefix) {
  DIR* folder = opendir(dir.c_str());
  if (folder == nullptr) return absl::NotFoundError(absl::StrCat("cannot open the log folder ", dir, ": ", strerror(errno)));
  std::vector<rpc::LogFile> files;
  while (struct dirent* entry = readdir(folder)) {
    std::string name = entry->d_name;
    if (name[0] == '.' || !absl::StartsWith(name, prefix)) continue;
    struct stat st;
    if (stat((dir + "/" + name).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    rpc::LogFile file;
    file.set_name(name);
    file.set_size(st.st_size);
    file.set_modified_ms(static_cast<int64_t>(st.st_mtim.tv_sec) * 1000 + st.st_mtim.tv_nsec / 1'000'000);
    files.push_back(std::move(file));
  }
  closedir(folder);
  std::sort(files.begin(), files.end(), [](const rpc::LogFile& a, const rpc::LogFile& b) { return a.name() < b.name(); });
  return files;
}

absl::StatusOr<rpc::ReadLogReply> ReadLogFile(const std::string& dir, const rpc::ReadLogRequest& request) {
  if (absl::Status status = CheckName(request.name()); !status.ok()) return status;
  if (request.offset() < 0) return absl::InvalidArgumentError("a log offset must not be negative");
  // O_NONBLOCK: opening a FIFO put in the folder would otherwise wait for a writer, forever.
  int fd = open((dir + "/" + request.name()).c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  if (fd < 0) return absl::NotFoundError(absl::StrCat("no log file '", request.name(), "' on this node"));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    return absl::NotFoundError(absl::StrCat("'", request.name(), "' is not a log file"));
  }
  int64_t size = st.st_size;
  int64_t offset = request.tail_lines() > 0 ? TailStart(fd, size, request.tail_lines()) : request.offset();
  int64_t limit = request.max_bytes() > 0 ? std::min(request.max_bytes(), kLargestReadBytes) : kDefaultReadBytes;
  std::string data(static_cast<size_t>(std::max<int64_t>(0, std::min(limit, size - offset))), '\0');
  ssize_t got = data.empty() ? 0 : pread(fd, data.data(), data.size(), offset);
  close(fd);
  data.resize(got > 0 ? static_cast<size_t>(got) : 0);
  rpc::ReadLogReply reply;
  reply.set_next_offset(offset + static_cast<int64_t>(data.size()));
  reply.set_data(std::move(data));
  reply.set_size(size);
  return reply;
}

}  // namespace orrery
