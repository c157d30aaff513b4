/// Progress where work is long:
///
///   std::vector<orrery::ObjectRef<double>> losses = ...;   // 10,000 tasks
///   orrery::Progress(losses, "training");                   // returns once every one is ready
///
/// On a terminal, stderr shows a live bar (done/total, percent, rate, ETA) redrawn at most ten
/// times a second; otherwise (a log file, CI) one line at each tenth done. Progress waits and
/// reads nothing: a failed task counts as done, and its error is raised by Get as always.
///
/// Wait takes an optional callback instead, called each time more refs are ready:
///
///   orrery::Wait(refs, refs.size(), -1, [](const orrery::ProgressUpdate& p) { ... });
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "orrery/api.h"
#include "orrery/export.h"

namespace orrery {

struct ProgressUpdate {
  size_t done = 0;
  size_t total = 0;
  double seconds = 0;      // since the wait began
  double rate_per_s = 0;   // done / seconds
  double eta_seconds = -1; // at that rate; -1 until something is done
};

using ProgressCallback = std::function<void(const ProgressUpdate&)>;

namespace internal {
// Runtime::Wait in slices, calling `on_progress` when the count of ready ids grows (and once at
// the start). Returns which ids are ready, as Wait does.
ORRERY_EXPORT std::vector<bool> WaitWithProgress(const std::vector<std::string>& ids, int num_objects, int timeout_ms,
                                                 const ProgressCallback& on_progress);
// The callback that draws the bar (or writes the lines) on stderr for `label`.
ORRERY_EXPORT ProgressCallback StderrProgress(const std::string& label);
}  // namespace internal

/// As Wait, calling `on_progress` each time more of `refs` are ready (and once at the start).
template <typename T>
WaitResult<T> Wait(const std::vector<ObjectRef<T>>& refs, int num_objects, int timeout_ms,
                   const ProgressCallback& on_progress) {
  std::vector<std::string> ids;
  ids.reserve(refs.size());
  for (const auto& ref : refs) ids.push_back(ref.binary_id());
  internal::ValidateWait(ids, num_objects);
  std::vector<bool> ready = internal::WaitWithProgress(ids, num_objects, timeout_ms, on_progress);
  WaitResult<T> result;
  for (size_t i = 0; i < refs.size(); ++i) (ready[i] ? result.ready : result.unready).push_back(refs[i]);
  return result;
}

/// Waits until every one of `refs` is ready, showing how far along it is on stderr (see above).
template <typename T>
void Progress(const std::vector<ObjectRef<T>>& refs, const std::string& label) {
  if (refs.empty()) return;
  Wait(refs, static_cast<int>(refs.size()), -1, internal::StderrProgress(label));
}

}  // namespace orrery
