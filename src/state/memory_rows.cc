#include "src/state/memory_rows.h"

#include <algorithm>
#include <cstdint>
#include <optional>
#include <tuple>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

#include "src/common/id.h"
#include "src/state/format.h"
#include "src/state/state_cells.h"
#include "src/state/table.h"

namespace orrery::state {

namespace {

using Reference = rpc::ObjectReferenceInfo;
using Process = rpc::ProcessReferences;

// The first 8 hex digits, as the report names processes: enough to tell them apart on a node.
template <typename Id>
std::string ShortIdCell(const std::string& binary) {
  std::string hex = IdCell<Id>(binary);
  return hex.substr(0, std::min<size_t>(hex.size(), 8));
}

// JSON's null for an unset id or text, as RowJson writes kNoValue.
template <typename Id>
nlohmann::ordered_json IdOrNull(const std::string& binary) {
  return binary.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(IdCell<Id>(binary));
}
nlohmann::ordered_json TextOrNull(const std::string& text) {
  return text.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(text);
}

std::string Plural(int64_t count, const std::string& noun) {
  return absl::StrCat(count, " ", noun, count == 1 ? "" : "s");
}

// Every node's store objects, by (node id, object id), binary: the sizes and states that a
// SHARED_MEMORY reference, which carries neither, is joined with.
class StoreIndex {
 public:
  explicit StoreIndex(const std::vector<NodeMemory>& nodes) {
    for (const NodeMemory& node : nodes) {
      for (const rpc::StoreObjectInfo& object : node.reply.store_objects()) {
        objects_[{node.node_id, object.object_id()}] = &object;
      }
    }
  }

  // Null when that node did not answer, or its listing lacks the object.
  const rpc::StoreObjectInfo* Find(const std::string& node_id, const std::string& object_id) const {
    auto it = objects_.find(std::make_pair(node_id, object_id));
    return it == objects_.end() ? nullptr : it->second;
  }

 private:
  absl::flat_hash_map<std::pair<std::string, std::string>, const rpc::StoreObjectInfo*> objects_;
};

// Why the process keeps the object: the first count that holds it.
std::string ReferenceKind(const Reference& reference) {
  if (reference.local_refs() > 0) return "LOCAL_REFERENCE";
  if (reference.submitted_task_refs() > 0) return "USED_BY_PENDING_TASK";
  if (reference.contained_in() > 0) return "CAPTURED_IN_OBJECT";
  if (reference.owned() && reference.borrowers() > 0) return "BORROWED";
  return kNoValue;
}

// What a reference's row says beyond its own fields. Derived here only, so that the table,
// the report and the JSON cannot disagree.
struct ReferenceFacts {
  std::string kind;
  std::optional<int64_t> size;  // unknown: not here, or its store's listing lacks it
  std::optional<bool> spilled;  // only for a value in shared memory
};

ReferenceFacts FactsOf(const Reference& reference, const StoreIndex& store) {
  ReferenceFacts facts{ReferenceKind(reference), std::nullopt, std::nullopt};
  if (reference.location() == Reference::IN_PROCESS) {
    facts.size = reference.size();
  } else if (reference.location() == Reference::SHARED_MEMORY) {
    if (const rpc::StoreObjectInfo* object = store.Find(reference.node_id(), reference.object_id())) {
      facts.size = object->size();
      facts.spilled = object->state() == rpc::StoreObjectInfo::SPILLED;
    }
  }
  return facts;
}

std::string SizeCell(const ReferenceFacts& facts) { return facts.size ? std::to_string(*facts.size) : kNoValue; }
std::string SpilledCell(const ReferenceFacts& facts) { return facts.spilled ? BoolCell(*facts.spilled) : kNoValue; }

std::string ProcessKind(const Process& process) { return process.is_driver() ? "driver" : "worker"; }

// The listing's order: nodes by id (binary order is hex order), drivers before workers, then
// worker id, then object id; so that two runs over the same state print the same.
std::vector<const NodeMemory*> SortedNodes(const std::vector<NodeMemory>& nodes) {
  std::vector<const NodeMemory*> sorted;
  for (const NodeMemory& node : nodes) sorted.push_back(&node);
  std::sort(sorted.begin(), sorted.end(), [](const NodeMemory* a, const NodeMemory* b) {
    return std::tie(a->node_id, a->address) < std::tie(b->node_id, b->address);
  });
  return sorted;
}

std::vector<const Process*> SortedProcesses(const NodeMemory& node) {
  std::vector<const Process*> sorted;
  for (const Process& process : node.reply.processes()) sorted.push_back(&process);
  std::sort(sorted.begin(), sorted.end(), [](const Process* a, const Process* b) {
    return std::make_tuple(!a->is_driver(), a->worker_id(), a->pid()) <
           std::make_tuple(!b->is_driver(), b->worker_id(), b->pid());
  });
  return sorted;
}

std::vector<const Reference*> SortedReferences(const Process& process) {
  std::vector<const Reference*> sorted;
  for (const Reference& reference : process.references()) sorted.push_back(&reference);
  std::sort(sorted.begin(), sorted.end(),
            [](const Reference* a, const Reference* b) { return a->object_id() < b->object_id(); });
  return sorted;
}

// How many references the process holds that its reply does not list (the raylet's limit).
int64_t NotListed(const Process& process) { return std::max<int64_t>(0, process.total() - process.references_size()); }

StateTable EmptyObjectsTable() {
  return {"objects",
          {{"object_id"},
           {"node_id"},
           {"worker_id"},
           {"pid", CellType::kInteger},
           {"job_id"},
           {"process"},
           {"owner_worker_id"},
           {"owned", CellType::kBoolean},
           {"reference_kind"},
           {"size", CellType::kInteger},
           {"location"},
           {"spilled", CellType::kBoolean},
           {"store_node_id", CellType::kText, /*detail=*/true},
           {"local_refs", CellType::kInteger, /*detail=*/true},
           {"submitted_task_refs", CellType::kInteger, /*detail=*/true},
           {"contained_in", CellType::kInteger, /*detail=*/true},
           {"borrowers", CellType::kInteger, /*detail=*/true}},
          {}};
}

Row ReferenceRow(const NodeMemory& node, const Process& process, const Reference& reference,
                 const ReferenceFacts& facts) {
  return {IdCell<ObjectId>(reference.object_id()),
          IdCell<NodeId>(node.node_id),
          IdCell<WorkerId>(process.worker_id()),
          PositiveCell(process.pid()),
          IdCell<JobId>(process.job_id()),
          ProcessKind(process),
          IdCell<WorkerId>(reference.owner_worker_id()),
          BoolCell(reference.owned()),
          facts.kind,
          SizeCell(facts),
          Reference::Location_Name(reference.location()),
          SpilledCell(facts),
          IdCell<NodeId>(reference.node_id()),
          std::to_string(reference.local_refs()),
          std::to_string(reference.submitted_task_refs()),
          std::to_string(reference.contained_in()),
          std::to_string(reference.borrowers())};
}

// Totals over every node, for the report's last line and its JSON summary.
struct Totals {
  int64_t references = 0;  // listed
  int64_t not_listed = 0;  // held beyond the raylets' limit
  int64_t distinct_objects = 0;
  int64_t process_bytes = 0;  // values in the holders' own memory, each copy counted
  int64_t store_bytes = 0;
  int64_t spilled_bytes = 0;
};

Totals TotalsOf(const std::vector<NodeMemory>& nodes) {
  Totals totals;
  absl::flat_hash_set<std::string> objects;
  for (const NodeMemory& node : nodes) {
    totals.store_bytes += node.reply.store_used_bytes();
    totals.spilled_bytes += node.reply.store_spilled_bytes();
    for (const Process& process : node.reply.processes()) {
      totals.references += process.references_size();
      totals.not_listed += NotListed(process);
      for (const Reference& reference : process.references()) {
        objects.insert(reference.object_id());
        if (reference.location() == Reference::IN_PROCESS) totals.process_bytes += reference.size();
      }
    }
  }
  totals.distinct_objects = static_cast<int64_t>(objects.size());
  return totals;
}

std::string Indent(const std::string& text, const std::string& prefix) {
  std::string out;
  size_t start = 0;
  while (start < text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size() - 1;
    absl::StrAppend(&out, prefix, text.substr(start, end + 1 - start));
    start = end + 1;
  }
  return out;
}

std::string StoreLine(const rpc::GetNodeMemoryReply& reply) {
  std::string used = HumanBytes(reply.store_used_bytes());
  if (reply.store_capacity() > 0) {
    used = absl::StrFormat("%s of %s used (%.1f%%)", used, HumanBytes(reply.store_capacity()),
                           100.0 * static_cast<double>(reply.store_used_bytes()) / reply.store_capacity());
  } else {
    used += " used";
  }
  return absl::StrCat("object store: ", used, ", ", Plural(reply.store_num_objects(), "object"), ", ",
                      reply.store_num_spilled(), " spilled (", HumanBytes(reply.store_spilled_bytes()), "), ",
                      reply.store_num_evicted(), " evicted");
}

// "driver 9ab1c2d3 (pid 1234, job 01000000)"
std::string ProcessName(const Process& process) {
  return absl::StrCat(ProcessKind(process), " ", ShortIdCell<WorkerId>(process.worker_id()), " (pid ",
                      PositiveCell(process.pid()), ", job ", IdCell<JobId>(process.job_id()), ")");
}

std::string NotListedLine(int64_t count) { return absl::StrCat("(", count, " more not listed; raise --limit)\n"); }

std::string ProcessSection(const Process& process, const StoreIndex& store) {
  if (!process.error().empty()) return absl::StrCat(ProcessName(process), ": did not answer: ", process.error(), "\n");
  std::string out =
      absl::StrCat(ProcessName(process), ": ",
                   Plural(std::max<int64_t>(process.total(), process.references_size()), "reference"), "\n");
  std::vector<std::vector<std::string>> rows = {
      {"OBJECT_ID", "OWNER", "REFERENCE_KIND", "SIZE", "LOCATION", "SPILLED"}};
  for (const Reference* reference : SortedReferences(process)) {
    ReferenceFacts facts = FactsOf(*reference, store);
    rows.push_back({IdCell<ObjectId>(reference->object_id()),
                    reference->owned() ? "self" : ShortIdCell<WorkerId>(reference->owner_worker_id()), facts.kind,
                    facts.size ? HumanBytes(*facts.size) : kNoValue, Reference::Location_Name(reference->location()),
                    SpilledCell(facts)});
  }
  std::string table = FormatTable(rows);
  if (NotListed(process) > 0) table += NotListedLine(NotListed(process));
  return out + Indent(table, "  ");
}

std::string StoreObjectsSection(const rpc::GetNodeMemoryReply& reply) {
  if (reply.store_objects_size() == 0) return "";
  std::vector<std::vector<std::string>> rows = {{"OBJECT_ID", "OWNER", "SIZE", "STATE", "PRIMARY", "READERS"}};
  for (const rpc::StoreObjectInfo& object : reply.store_objects()) {
    rows.push_back({IdCell<ObjectId>(object.object_id()), ShortIdCell<WorkerId>(object.owner_worker_id()),
                    HumanBytes(object.size()), rpc::StoreObjectInfo::State_Name(object.state()),
                    BoolCell(object.primary()), std::to_string(object.readers())});
  }
  std::string table = FormatTable(rows);
  int64_t not_listed = reply.store_num_objects() - reply.store_objects_size();
  if (not_listed > 0) table += NotListedLine(not_listed);
  return "store objects:\n" + Indent(table, "  ");
}

std::string NodeSection(const NodeMemory& node, const StoreIndex& store) {
  std::string body = StoreLine(node.reply) + "\n";
  int64_t idle = 0;  // processes that hold nothing: counted, not listed
  for (const Process* process : SortedProcesses(node)) {
    if (process->error().empty() && process->references_size() == 0 && process->total() == 0) {
      ++idle;
      continue;
    }
    body += ProcessSection(*process, store);
  }
  if (idle > 0)
    absl::StrAppend(&body, idle, idle == 1 ? " other process holds" : " other processes hold", " no references\n");
  body += StoreObjectsSection(node.reply);
  return absl::StrCat("node ", IdCell<NodeId>(node.node_id), " at ", node.address, "\n", Indent(body, "  "));
}

// What one owner's objects take, from the references it lists as owned (an owner on a node
// that did not answer is not counted).
struct OwnerUsage {
  const NodeMemory* node = nullptr;
  const Process* process = nullptr;
  int64_t objects = 0;
  int64_t process_bytes = 0;  // values in the owner's own memory
  int64_t store_bytes = 0;    // primary copies in object stores, spilled ones included
  int64_t spilled_bytes = 0;
  int64_t borrowed = 0;  // objects other processes borrow
};

std::vector<OwnerUsage> UsageByOwner(const std::vector<NodeMemory>& nodes, const StoreIndex& store) {
  std::vector<OwnerUsage> owners;
  for (const NodeMemory* node : SortedNodes(nodes)) {
    for (const Process* process : SortedProcesses(*node)) {
      OwnerUsage usage{node, process};
      for (const Reference& reference : process->references()) {
        if (!reference.owned()) continue;
        ++usage.objects;
        usage.borrowed += reference.borrowers() > 0;
        ReferenceFacts facts = FactsOf(reference, store);
        if (!facts.size.has_value()) continue;
        if (reference.location() == Reference::IN_PROCESS) {
          usage.process_bytes += *facts.size;
        } else {
          usage.store_bytes += *facts.size;
          if (facts.spilled.value_or(false)) usage.spilled_bytes += *facts.size;
        }
      }
      if (usage.objects > 0) owners.push_back(usage);
    }
  }
  return owners;
}

std::string OwnersSection(const std::vector<OwnerUsage>& owners) {
  if (owners.empty()) return "";
  std::vector<std::vector<std::string>> rows = {
      {"OWNER", "NODE", "OBJECTS", "IN_PROCESS", "IN_OBJECT_STORES", "SPILLED", "BORROWED"}};
  for (const OwnerUsage& owner : owners) {
    rows.push_back({ProcessName(*owner.process), ShortIdCell<NodeId>(owner.node->node_id),
                    std::to_string(owner.objects), HumanBytes(owner.process_bytes), HumanBytes(owner.store_bytes),
                    HumanBytes(owner.spilled_bytes), std::to_string(owner.borrowed)});
  }
  return "objects by owner:\n" + Indent(FormatTable(rows), "  ") + "\n";
}

nlohmann::ordered_json OwnersJson(const std::vector<OwnerUsage>& owners) {
  nlohmann::ordered_json json = nlohmann::ordered_json::array();
  for (const OwnerUsage& owner : owners) {
    json.push_back({{"worker_id", IdOrNull<WorkerId>(owner.process->worker_id())},
                    {"process", ProcessKind(*owner.process)},
                    {"pid", owner.process->pid()},
                    {"job_id", IdOrNull<JobId>(owner.process->job_id())},
                    {"node_id", IdCell<NodeId>(owner.node->node_id)},
                    {"objects", owner.objects},
                    {"process_memory_bytes", owner.process_bytes},
                    {"object_store_bytes", owner.store_bytes},
                    {"spilled_bytes", owner.spilled_bytes},
                    {"borrowed", owner.borrowed}});
  }
  return json;
}

nlohmann::ordered_json StoreObjectJson(const rpc::StoreObjectInfo& object) {
  nlohmann::ordered_json json;
  json["object_id"] = IdCell<ObjectId>(object.object_id());
  json["owner_worker_id"] = IdOrNull<WorkerId>(object.owner_worker_id());
  json["size"] = object.size();
  json["state"] = rpc::StoreObjectInfo::State_Name(object.state());
  json["primary"] = object.primary();
  json["readers"] = object.readers();
  return json;
}

nlohmann::ordered_json ObjectStoreJson(const rpc::GetNodeMemoryReply& reply) {
  nlohmann::ordered_json json;
  json["capacity_bytes"] = reply.store_capacity();
  json["used_bytes"] = reply.store_used_bytes();
  json["objects"] = reply.store_num_objects();
  json["spilled_objects"] = reply.store_num_spilled();
  json["spilled_bytes"] = reply.store_spilled_bytes();
  json["evicted"] = reply.store_num_evicted();
  return json;
}

}  // namespace

StateTable ObjectsTable(const std::vector<NodeMemory>& nodes) {
  StateTable table = EmptyObjectsTable();
  StoreIndex store(nodes);
  for (const NodeMemory* node : SortedNodes(nodes)) {
    for (const Process* process : SortedProcesses(*node)) {
      for (const Reference* reference : SortedReferences(*process)) {
        table.rows.push_back(ReferenceRow(*node, *process, *reference, FactsOf(*reference, store)));
      }
    }
  }
  return table;
}

StateTable LargestObjectsFirst(const std::vector<NodeMemory>& nodes) {
  StateTable table = ObjectsTable(nodes);
  const int size_column = table.ColumnIndex("size");
  auto size_of = [size_column](const Row& row) -> int64_t {
    int64_t size = -1;
    return absl::SimpleAtoi(row[size_column], &size) ? size : -1;
  };
  std::stable_sort(table.rows.begin(), table.rows.end(),
                   [&](const Row& a, const Row& b) { return size_of(a) > size_of(b); });
  return table;
}

std::vector<std::string> ProcessWarnings(const std::vector<NodeMemory>& nodes) {
  std::vector<std::string> warnings;
  for (const NodeMemory* node : SortedNodes(nodes)) {
    std::string where = " on node " + IdCell<NodeId>(node->node_id);
    for (const Process* process : SortedProcesses(*node)) {
      std::string who = ProcessKind(*process) + " " + IdCell<WorkerId>(process->worker_id()) + where;
      if (!process->error().empty()) {
        warnings.push_back("warning: skipped the references of " + who + ": " + process->error());
      } else if (NotListed(*process) > 0) {
        warnings.push_back(absl::StrCat("warning: ", who, " holds ", process->total(), " references; only ",
                                        process->references_size(), " are listed"));
      }
    }
    int64_t unlisted_objects = node->reply.store_num_objects() - node->reply.store_objects_size();
    if (unlisted_objects > 0) {
      warnings.push_back(absl::StrCat("warning: the object store", where, " holds ", node->reply.store_num_objects(),
                                      " objects; the ", unlisted_objects,
                                      " not listed show no size in the references to them"));
    }
  }
  return warnings;
}

std::string FormatMemoryReport(const std::vector<NodeMemory>& nodes) {
  StoreIndex store(nodes);
  std::string out;
  for (const NodeMemory* node : SortedNodes(nodes)) absl::StrAppend(&out, NodeSection(*node, store), "\n");
  out += OwnersSection(UsageByOwner(nodes, store));
  Totals totals = TotalsOf(nodes);
  absl::StrAppend(&out, "total: ", Plural(totals.references, "reference"));
  if (totals.not_listed > 0) absl::StrAppend(&out, " (and ", totals.not_listed, " not listed)");
  absl::StrAppend(&out, " to ", Plural(totals.distinct_objects, "distinct object"), "; ",
                  HumanBytes(totals.process_bytes), " in process memory, ", HumanBytes(totals.store_bytes),
                  " in object stores, ", HumanBytes(totals.spilled_bytes), " spilled\n");
  return out;
}

nlohmann::ordered_json MemoryReportJson(const std::vector<NodeMemory>& nodes, MemoryDetail detail) {
  const bool lists = detail == MemoryDetail::kEveryReference;
  StoreIndex store(nodes);
  const StateTable columns = EmptyObjectsTable();
  nlohmann::ordered_json json;
  json["nodes"] = nlohmann::ordered_json::array();
  for (const NodeMemory* node : SortedNodes(nodes)) {
    nlohmann::ordered_json node_json;
    node_json["node_id"] = IdCell<NodeId>(node->node_id);
    node_json["address"] = node->address;
    node_json["object_store"] = ObjectStoreJson(node->reply);
    node_json["processes"] = nlohmann::ordered_json::array();
    for (const Process* process : SortedProcesses(*node)) {
      nlohmann::ordered_json process_json;
      process_json["worker_id"] = IdOrNull<WorkerId>(process->worker_id());
      process_json["pid"] = process->pid();
      process_json["job_id"] = IdOrNull<JobId>(process->job_id());
      process_json["process"] = ProcessKind(*process);
      process_json["references_total"] = std::max<int64_t>(process->total(), process->references_size());
      process_json["error"] = TextOrNull(process->error());
      if (lists) {
        process_json["references"] = nlohmann::ordered_json::array();
        for (const Reference* reference : SortedReferences(*process)) {
          process_json["references"].push_back(
              RowJson(columns, ReferenceRow(*node, *process, *reference, FactsOf(*reference, store))));
        }
      }
      node_json["processes"].push_back(std::move(process_json));
    }
    if (lists) {
      node_json["store_objects"] = nlohmann::ordered_json::array();
      for (const rpc::StoreObjectInfo& object : node->reply.store_objects()) {
        node_json["store_objects"].push_back(StoreObjectJson(object));
      }
    }
    json["nodes"].push_back(std::move(node_json));
  }
  json["owners"] = OwnersJson(UsageByOwner(nodes, store));
  Totals totals = TotalsOf(nodes);
  json["summary"] = {{"references", totals.references},
                     {"references_not_listed", totals.not_listed},
                     {"distinct_objects", totals.distinct_objects},
                     {"process_memory_bytes", totals.process_bytes},
                     {"object_store_bytes", totals.store_bytes},
                     {"spilled_bytes", totals.spilled_bytes}};
  return json;
}

}  // namespace orrery::state
