// What holds memory in the cluster, from the raylets' GetNodeMemory replies: the rows of
// `orrery list objects` (one per reference a process holds) and the report of `orrery memory`
// (per node: its object store, each process's references, the store's objects). Pure (the
// caller fetches the replies), so all of it is unit-tested.
#pragma once

#include <string>
#include <vector>

#include "nlohmann/json.hpp"
#include "orrery/memory.pb.h"

#include "src/state/state_table.h"

namespace orrery::state {

// One raylet's answer.
struct NodeMemory {
  // Binary, as the GCS knows the node (whatever the raylet's reply says).
  std::string node_id;
  // IP:port of its raylet.
  std::string address;
  rpc::GetNodeMemoryReply reply;
};

// One row per reference a process holds: who holds it, why (`reference_kind`), and where its
// value lies. A SHARED_MEMORY reference takes its `size` and `spilled` from the store of the
// node it names; "-" when that node's reply or that object is not at hand. Sorted by the
// holder's node, drivers before workers, then worker id, then object id.
StateTable ObjectsTable(const std::vector<NodeMemory>& nodes);

// ObjectsTable's rows, largest first (a reference whose size is not known last), the order kept
// among equal sizes: what a reader of many references looks for first.
StateTable LargestObjectsFirst(const std::vector<NodeMemory>& nodes);

// For stderr under `orrery list objects`: a line per process that did not answer (the table
// lacks its references) or holds more references than were listed.
std::vector<std::string> ProcessWarnings(const std::vector<NodeMemory>& nodes);

// `orrery memory` for a person: per node (by id) its store's usage, the references of each
// process that holds any (as the rows of ObjectsTable) or did not answer, and the store's
// objects; then, per owner, how many objects it owns and what they take where; then totals
// over all nodes.
std::string FormatMemoryReport(const std::vector<NodeMemory>& nodes);

// How much of the report MemoryReportJson writes.
enum class MemoryDetail {
  kEveryReference,  // each process's references and each store's objects, as `orrery memory`
  kTotalsOnly,      // per node its store and per process its count, without the lists
};

// The same as JSON, ids in hex: {"nodes": [...], "owners": [...], "summary": {...}}; each
// reference is the ObjectsTable row of it (RowJson).
nlohmann::ordered_json MemoryReportJson(const std::vector<NodeMemory>& nodes,
                                        MemoryDetail detail = MemoryDetail::kEveryReference);

}  // namespace orrery::state
