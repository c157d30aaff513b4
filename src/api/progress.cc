// orrery::Progress and Wait's progress callback (include/orrery/progress.h).
#include "orrery/progress.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "src/common/clock.h"

namespace orrery::internal {

namespace {

using Clock = std::chrono::steady_clock;

// How long one Wait may take before the count is looked at again: updates are at most this
// far apart, and a terminal's bar is not redrawn more often.
constexpr int kSliceMs = 100;


ProgressUpdate UpdateOf(size_t done, size_t total, double seconds) {
  ProgressUpdate update;
  update.done = done;
  update.total = total;
  update.seconds = seconds;
  update.rate_per_s = seconds > 0 ? static_cast<double>(done) / seconds : 0;
  update.eta_seconds = update.rate_per_s > 0 ? static_cast<double>(total - done) / update.rate_per_s : -1;
  return update;
}

std::string Eta(const ProgressUpdate& update) {
  if (update.done == update.total) return "done in " + std::to_string(static_cast<int>(update.seconds + 0.5)) + " s";
  if (update.eta_seconds < 0) return "ETA ?";
  char text[32];
  std::snprintf(text, sizeof(text), "ETA %.0f s", update.eta_seconds);
  return text;
}

// "512/1000 (51%), 340.2/s, ETA 1 s"
std::string Counts(const ProgressUpdate& update) {
  char text[128];
  int percent = update.total == 0 ? 100 : static_cast<int>(update.done * 100 / update.total);
  std::snprintf(text, sizeof(text), "%zu/%zu (%d%%), %.1f/s, %s", update.done, update.total, percent,
                update.rate_per_s, Eta(update).c_str());
  return text;
}

}  // namespace

std::vector<bool> WaitWithProgress(const std::vector<std::string>& ids, int num_objects, int timeout_ms,
                                   const ProgressCallback& on_progress) {
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::milliseconds(std::max(timeout_ms, 0));
  std::vector<bool> ready(ids.size(), false);
  size_t done = 0;
  if (on_progress) on_progress(UpdateOf(done, ids.size(), 0));
  while (true) {
    std::vector<std::string> pending;
    std::vector<size_t> where;
    for (size_t i = 0; i < ids.size(); ++i) {
      if (ready[i]) continue;
      pending.push_back(ids[i]);
      where.push_back(i);
    }
    int64_t slice_ms = kSliceMs;
    if (timeout_ms >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
      slice_ms = std::clamp<int64_t>(left, 0, kSliceMs);
    }
    int wanted = std::min<int>(num_objects - static_cast<int>(done), static_cast<int>(pending.size()));
    std::vector<bool> now_ready = RequireRuntime().Wait(pending, wanted, static_cast<int>(slice_ms));
    size_t before = done;
    for (size_t j = 0; j < now_ready.size(); ++j) {
      if (!now_ready[j]) continue;
      ready[where[j]] = true;
      ++done;
    }
    if (done != before && on_progress) on_progress(UpdateOf(done, ids.size(), SecondsSince(start)));
    if (static_cast<int>(done) >= num_objects) break;
    if (timeout_ms >= 0 && Clock::now() >= deadline) break;
  }
  return ready;
}

ProgressCallback StderrProgress(const std::string& label) {
  struct State {
    bool terminal = isatty(STDERR_FILENO) == 1;
    int tenths_said = 0;  // lines written, off a terminal: one per tenth done
  };
  auto state = std::make_shared<State>();
  return [label, state](const ProgressUpdate& update) {
    if (update.total == 0) return;
    if (state->terminal) {
      constexpr int kWidth = 30;
      int filled = static_cast<int>(update.done * kWidth / update.total);
      std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '-');
      // \033[K clears what a longer line before left.
      std::fprintf(stderr, "\r%s [%s] %s\033[K%s", label.c_str(), bar.c_str(), Counts(update).c_str(),
                   update.done == update.total ? "\n" : "");
    } else {
      int tenths = static_cast<int>(update.done * 10 / update.total);
      if (tenths <= state->tenths_said) return;
      state->tenths_said = tenths;
      std::fprintf(stderr, "%s: %s\n", label.c_str(), Counts(update).c_str());
    }
    std::fflush(stderr);
  };
}

}  // namespace orrery::internal
