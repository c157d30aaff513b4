// EndedHistory: which ended rows a GCS table keeps (dead nodes, dead actors, finished jobs,
// removed placement groups): the last `capacity` to end. A row that falls out is deleted from
// the table's memory and from its storage by the caller, so the storage stays bounded however
// long the cluster lives.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <utility>
#include <vector>

namespace orrery::gcs {

template <typename Id>
class EndedHistory {
 public:
  explicit EndedHistory(size_t capacity) : capacity_(capacity) {}

  // `id` ended now. Returns the ids that fell out of the history, oldest first.
  std::vector<Id> Add(const Id& id) {
    order_.push_back(id);
    std::vector<Id> evicted;
    while (order_.size() > capacity_) {
      evicted.push_back(order_.front());
      order_.pop_front();
    }
    return evicted;
  }

  // Rows restored from storage, with the times they ended, in any order: kept oldest first.
  // Returns those beyond the capacity (a smaller capacity than the last GCS had, say).
  std::vector<Id> Restore(std::vector<std::pair<int64_t, Id>> ended) {
    std::stable_sort(ended.begin(), ended.end(),
                     [](const auto& a, const auto& b) { return a.first < b.first; });
    std::vector<Id> evicted;
    for (const auto& entry : ended) {
      for (Id& id : Add(entry.second)) evicted.push_back(std::move(id));
    }
    return evicted;
  }

  size_t size() const { return order_.size(); }

 private:
  const size_t capacity_;
  std::deque<Id> order_;
};

}  // namespace orrery::gcs
