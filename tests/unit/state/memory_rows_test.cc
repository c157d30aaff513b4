// The raylets' GetNodeMemory replies as the rows of `orrery list objects` and the report of
// `orrery memory`.
#include "src/state/memory_rows.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "src/common/id.h"

namespace orrery::state {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using Reference = rpc::ObjectReferenceInfo;

std::string NodeBinary(char fill) { return std::string(NodeId::kSize, fill); }
std::string WorkerBinary(char fill) { return std::string(WorkerId::kSize, fill); }
std::string ObjectBinary(char fill) { return std::string(ObjectId::kSize, fill); }
const std::string kJob1 = std::string("\x01\0\0\0", 4);

std::string NodeHex(char fill) { return NodeId::FromBinary(NodeBinary(fill))->Hex(); }
std::string WorkerHex(char fill) { return WorkerId::FromBinary(WorkerBinary(fill))->Hex(); }
std::string ObjectHex(char fill) { return ObjectId::FromBinary(ObjectBinary(fill))->Hex(); }

NodeMemory Node(char fill, const std::string& address = "10.0.0.4:33783") {
  NodeMemory node;
  node.node_id = NodeBinary(fill);
  node.address = address;
  node.reply.set_node_id(node.node_id);
  return node;
}

rpc::ProcessReferences* AddProcess(NodeMemory& node, char worker, bool is_driver, int pid = 1234) {
  rpc::ProcessReferences* process = node.reply.add_processes();
  process->set_worker_id(WorkerBinary(worker));
  process->set_pid(pid);
  process->set_job_id(kJob1);
  process->set_is_driver(is_driver);
  return process;
}

rpc::ObjectReferenceInfo* AddReference(rpc::ProcessReferences& process, char object,
                                       Reference::Location location = Reference::NOT_HERE) {
  rpc::ObjectReferenceInfo* reference = process.add_references();
  reference->set_object_id(ObjectBinary(object));
  reference->set_owner_worker_id(process.worker_id());
  reference->set_owned(true);
  reference->set_local_refs(1);
  reference->set_location(location);
  process.set_total(process.references_size());
  return reference;
}

rpc::ObjectReferenceInfo* AddSharedReference(rpc::ProcessReferences& process, char object, char store_node) {
  rpc::ObjectReferenceInfo* reference = AddReference(process, object, Reference::SHARED_MEMORY);
  reference->set_node_id(NodeBinary(store_node));
  return reference;
}

rpc::StoreObjectInfo* AddStoreObject(NodeMemory& node, char object, int64_t size,
                                     rpc::StoreObjectInfo::State state = rpc::StoreObjectInfo::SEALED) {
  rpc::StoreObjectInfo* stored = node.reply.add_store_objects();
  stored->set_object_id(ObjectBinary(object));
  stored->set_size(size);
  stored->set_state(state);
  stored->set_primary(true);
  node.reply.set_store_num_objects(node.reply.store_objects_size());
  return stored;
}

std::string Cell(const StateTable& table, size_t row, const std::string& column) {
  int index = table.ColumnIndex(column);
  EXPECT_GE(index, 0) << column;
  return index < 0 ? "" : table.rows.at(row).at(index);
}

// The cell of `column` in the one row of `object` held by `worker`.
std::string CellOf(const StateTable& table, char worker, char object, const std::string& column) {
  for (size_t row = 0; row < table.rows.size(); ++row) {
    if (Cell(table, row, "worker_id") == WorkerHex(worker) && Cell(table, row, "object_id") == ObjectHex(object)) {
      return Cell(table, row, column);
    }
  }
  ADD_FAILURE() << "no row of object " << ObjectHex(object) << " held by " << WorkerHex(worker);
  return "";
}

TEST(ObjectsTable, ReferenceKindIsTheFirstCountThatHoldsTheObject) {
  NodeMemory node = Node('\x0a');
  rpc::ProcessReferences* driver = AddProcess(node, '\xd1', /*is_driver=*/true);
  auto add = [&](char object, int64_t local, int64_t submitted, int64_t contained, bool owned, int64_t borrowers) {
    rpc::ObjectReferenceInfo* reference = AddReference(*driver, object);
    reference->set_local_refs(local);
    reference->set_submitted_task_refs(submitted);
    reference->set_contained_in(contained);
    reference->set_owned(owned);
    reference->set_borrowers(borrowers);
  };
  add('\x01', 2, 1, 1, true, 1);
  add('\x02', 0, 1, 1, true, 1);
  add('\x03', 0, 0, 1, true, 1);
  add('\x04', 0, 0, 0, true, 2);
  add('\x05', 0, 0, 0, false, 3);  // a borrower's own borrowers are not its to count
  add('\x06', 0, 0, 0, true, 0);

  StateTable table = ObjectsTable({node});
  ASSERT_EQ(table.rows.size(), 6u);
  EXPECT_EQ(CellOf(table, '\xd1', '\x01', "reference_kind"), "LOCAL_REFERENCE");
  EXPECT_EQ(CellOf(table, '\xd1', '\x02', "reference_kind"), "USED_BY_PENDING_TASK");
  EXPECT_EQ(CellOf(table, '\xd1', '\x03', "reference_kind"), "CAPTURED_IN_OBJECT");
  EXPECT_EQ(CellOf(table, '\xd1', '\x04', "reference_kind"), "BORROWED");
  EXPECT_EQ(CellOf(table, '\xd1', '\x05', "reference_kind"), "-");
  EXPECT_EQ(CellOf(table, '\xd1', '\x06', "reference_kind"), "-");
}

TEST(ObjectsTable, SharedMemoryReferencesTakeSizeAndSpilledFromTheStoreOfTheNodeTheyName) {
  NodeMemory a = Node('\x0a');
  // The join is on the node's id as the GCS knows it, not on what the raylet says.
  a.reply.set_node_id("not an id");
  AddStoreObject(a, '\x01', 100);
  NodeMemory b = Node('\x0b', "10.0.0.5:46541");
  AddStoreObject(b, '\x02', 4096, rpc::StoreObjectInfo::SPILLED);
  rpc::ProcessReferences* driver = AddProcess(a, '\xd1', /*is_driver=*/true);
  AddSharedReference(*driver, '\x01', '\x0a');
  AddSharedReference(*driver, '\x02', '\x0b');
  AddSharedReference(*driver, '\x03', '\x0c');  // a node that did not answer
  AddSharedReference(*driver, '\x04', '\x0a');  // not in its store's listing
  AddReference(*driver, '\x05', Reference::IN_PROCESS)->set_size(42);
  AddReference(*driver, '\x06', Reference::NOT_HERE);
  // Object 01 is in node a's store, not in node b's, which this worker names.
  AddSharedReference(*AddProcess(b, '\x11', /*is_driver=*/false), '\x01', '\x0b');

  StateTable table = ObjectsTable({a, b});
  ASSERT_EQ(table.rows.size(), 7u);
  EXPECT_EQ(CellOf(table, '\xd1', '\x01', "size"), "100");
  EXPECT_EQ(CellOf(table, '\xd1', '\x01', "spilled"), "false");
  EXPECT_EQ(CellOf(table, '\xd1', '\x01', "location"), "SHARED_MEMORY");
  EXPECT_EQ(CellOf(table, '\xd1', '\x01', "store_node_id"), NodeHex('\x0a'));
  EXPECT_EQ(CellOf(table, '\xd1', '\x02', "size"), "4096");
  EXPECT_EQ(CellOf(table, '\xd1', '\x02', "spilled"), "true");
  EXPECT_EQ(CellOf(table, '\xd1', '\x02', "store_node_id"), NodeHex('\x0b'));
  EXPECT_EQ(CellOf(table, '\xd1', '\x03', "size"), "-");
  EXPECT_EQ(CellOf(table, '\xd1', '\x03', "spilled"), "-");
  EXPECT_EQ(CellOf(table, '\xd1', '\x04', "size"), "-");
  EXPECT_EQ(CellOf(table, '\xd1', '\x04', "spilled"), "-");
  EXPECT_EQ(CellOf(table, '\xd1', '\x05', "size"), "42");
  EXPECT_EQ(CellOf(table, '\xd1', '\x05', "location"), "IN_PROCESS");
  EXPECT_EQ(CellOf(table, '\xd1', '\x05', "spilled"), "-");
  EXPECT_EQ(CellOf(table, '\xd1', '\x05', "store_node_id"), "-");
  EXPECT_EQ(CellOf(table, '\xd1', '\x06', "size"), "-");
  EXPECT_EQ(CellOf(table, '\xd1', '\x06', "location"), "NOT_HERE");
  EXPECT_EQ(CellOf(table, '\xd1', '\x06', "spilled"), "-");
  EXPECT_EQ(CellOf(table, '\x11', '\x01', "size"), "-");
  EXPECT_EQ(CellOf(table, '\x11', '\x01', "spilled"), "-");
}

TEST(ObjectsTable, RowsAreSortedByNodeThenDriversFirstThenWorkerThenObject) {
  NodeMemory b = Node('\x0b');
  AddReference(*AddProcess(b, '\x11', false), '\x01');
  NodeMemory a = Node('\x0a');
  rpc::ProcessReferences* worker2 = AddProcess(a, '\x22', false);
  AddReference(*worker2, '\x03');
  rpc::ProcessReferences* worker1 = AddProcess(a, '\x11', false);
  AddReference(*worker1, '\x01');
  rpc::ProcessReferences* driver = AddProcess(a, '\xd1', true);
  AddReference(*driver, '\x02');
  AddReference(*driver, '\x01');

  StateTable table = ObjectsTable({b, a});
  std::vector<std::string> order;
  for (size_t row = 0; row < table.rows.size(); ++row) {
    order.push_back(Cell(table, row, "node_id").substr(0, 2) + "/" + Cell(table, row, "worker_id").substr(0, 2) + "/" +
                    Cell(table, row, "object_id").substr(0, 2));
  }
  EXPECT_THAT(order, ElementsAre("0a/d1/01", "0a/d1/02", "0a/11/01", "0a/22/03", "0b/11/01"));
}

TEST(ObjectsTable, NamesTheHolderAndOwnerAndTypesItsJson) {
  NodeMemory node = Node('\x0a');
  rpc::ProcessReferences* worker = AddProcess(node, '\x11', /*is_driver=*/false, 4242);
  rpc::ObjectReferenceInfo* borrowed = AddSharedReference(*worker, '\x01', '\x0c');
  borrowed->set_owned(false);
  borrowed->set_owner_worker_id(WorkerBinary('\xd1'));
  borrowed->set_local_refs(2);
  borrowed->set_submitted_task_refs(3);
  borrowed->set_contained_in(4);

  StateTable table = ObjectsTable({node});
  ASSERT_EQ(table.rows.size(), 1u);
  EXPECT_EQ(table.kind, "objects");
  EXPECT_EQ(table.columns[0].name, "object_id");
  EXPECT_EQ(Cell(table, 0, "object_id"), ObjectHex('\x01'));
  EXPECT_EQ(Cell(table, 0, "node_id"), NodeHex('\x0a'));
  EXPECT_EQ(Cell(table, 0, "worker_id"), WorkerHex('\x11'));
  EXPECT_EQ(Cell(table, 0, "pid"), "4242");
  EXPECT_EQ(Cell(table, 0, "job_id"), "01000000");
  EXPECT_EQ(Cell(table, 0, "process"), "worker");
  EXPECT_EQ(Cell(table, 0, "owner_worker_id"), WorkerHex('\xd1'));
  EXPECT_EQ(Cell(table, 0, "owned"), "false");
  EXPECT_EQ(Cell(table, 0, "local_refs"), "2");
  EXPECT_EQ(Cell(table, 0, "submitted_task_refs"), "3");
  EXPECT_EQ(Cell(table, 0, "contained_in"), "4");
  EXPECT_EQ(Cell(table, 0, "borrowers"), "0");

  nlohmann::ordered_json json = RowJson(table, table.rows[0]);
  EXPECT_EQ(json["pid"], 4242);
  EXPECT_EQ(json["owned"], false);
  EXPECT_TRUE(json["size"].is_null());
  EXPECT_TRUE(json["spilled"].is_null());
  EXPECT_EQ(json["local_refs"], 2);
  // The counts are for `get` and JSON; the table stays narrow.
  EXPECT_THAT(FormatTable(table), Not(HasSubstr("LOCAL_REFS")));
  EXPECT_THAT(FormatTable(table), HasSubstr("REFERENCE_KIND"));
}

TEST(ProcessWarnings, NameProcessesThatDidNotAnswerOrHoldMoreThanListed) {
  NodeMemory node = Node('\x0a');
  AddProcess(node, '\x11', false)->set_error("deadline exceeded after 2 s");
  rpc::ProcessReferences* driver = AddProcess(node, '\xd1', true);
  AddReference(*driver, '\x01');
  driver->set_total(120);
  AddReference(*AddProcess(node, '\x22', false), '\x02');  // all listed: no warning
  AddStoreObject(node, '\x01', 10);
  node.reply.set_store_num_objects(5);

  std::vector<std::string> warnings = ProcessWarnings({node});
  ASSERT_EQ(warnings.size(), 3u);
  EXPECT_THAT(warnings[0], HasSubstr("driver " + WorkerHex('\xd1')));
  EXPECT_THAT(warnings[0], HasSubstr("holds 120 references; only 1 are listed"));
  EXPECT_THAT(warnings[1], HasSubstr("worker " + WorkerHex('\x11') + " on node " + NodeHex('\x0a')));
  EXPECT_THAT(warnings[1], HasSubstr("deadline exceeded after 2 s"));
  EXPECT_THAT(warnings[2], HasSubstr("holds 5 objects; the 4 not listed"));
}

// Two nodes: a's driver holds a value in its own memory and two in a's store (one spilled),
// a worker of a did not answer, another holds nothing; b's worker holds a value in b's store
// and a borrowed one that is not there.
std::vector<NodeMemory> TwoNodes() {
  NodeMemory a = Node('\x0a');
  a.reply.set_store_capacity(512 << 20);
  a.reply.set_store_used_bytes(12 << 20);
  a.reply.set_store_num_spilled(1);
  a.reply.set_store_spilled_bytes(4 << 20);
  AddStoreObject(a, '\x02', 8 << 20);
  AddStoreObject(a, '\x03', 4 << 20, rpc::StoreObjectInfo::SPILLED)->set_readers(2);
  AddStoreObject(a, '\x04', 1024)->set_primary(false);
  rpc::ProcessReferences* driver = AddProcess(a, '\xd1', true);
  AddReference(*driver, '\x01', Reference::IN_PROCESS)->set_size(1536);
  AddSharedReference(*driver, '\x02', '\x0a');
  AddSharedReference(*driver, '\x03', '\x0a');
  driver->set_total(120);
  AddProcess(a, '\x11', false, 4242)->set_error("deadline exceeded after 2 s");
  AddProcess(a, '\x22', false, 4343);

  NodeMemory b = Node('\x0b', "10.0.0.5:46541");
  b.reply.set_store_capacity(256 << 20);
  b.reply.set_store_used_bytes(1 << 20);
  b.reply.set_store_num_evicted(7);
  AddStoreObject(b, '\x05', 1 << 20);
  rpc::ProcessReferences* worker = AddProcess(b, '\x33', false, 5000);
  AddSharedReference(*worker, '\x05', '\x0b');
  rpc::ObjectReferenceInfo* borrowed = AddReference(*worker, '\x01', Reference::NOT_HERE);
  borrowed->set_owned(false);
  borrowed->set_owner_worker_id(WorkerBinary('\xd1'));
  return {b, a};
}

TEST(FormatMemoryReport, ShowsEachStoreEachHolderAndTheTotals) {
  std::string report = FormatMemoryReport(TwoNodes());
  SCOPED_TRACE(report);
  EXPECT_THAT(report, HasSubstr("node " + NodeHex('\x0a') + " at 10.0.0.4:33783\n"));
  EXPECT_THAT(report, HasSubstr("node " + NodeHex('\x0b') + " at 10.0.0.5:46541\n"));
  EXPECT_LT(report.find("node " + NodeHex('\x0a')), report.find("node " + NodeHex('\x0b')));
  EXPECT_THAT(report, HasSubstr("  object store: 12 MiB of 512 MiB used (2.3%), 3 objects, 1 spilled (4.0 MiB), "
                                "0 evicted\n"));
  EXPECT_THAT(report,
              HasSubstr("  object store: 1.0 MiB of 256 MiB used (0.4%), 1 object, 0 spilled (0 B), 7 evicted\n"));
  EXPECT_THAT(report, HasSubstr("  driver d1d1d1d1 (pid 1234, job 01000000): 120 references\n"));
  EXPECT_THAT(report, HasSubstr("(117 more not listed; raise --limit)\n"));
  EXPECT_THAT(report, HasSubstr("  worker 11111111 (pid 4242, job 01000000): did not answer: deadline exceeded "
                                "after 2 s\n"));
  EXPECT_THAT(report, HasSubstr("  1 other process holds no references\n"));
  EXPECT_THAT(report, Not(HasSubstr("22222222")));
  EXPECT_THAT(report, HasSubstr("  worker 33333333 (pid 5000, job 01000000): 2 references\n"));
  // The driver's references: sizes from its store, its own value's from itself.
  EXPECT_THAT(report, HasSubstr(ObjectHex('\x01') + "  self   LOCAL_REFERENCE  1.5 KiB  IN_PROCESS     -"));
  EXPECT_THAT(report, HasSubstr(ObjectHex('\x03') + "  self   LOCAL_REFERENCE  4.0 MiB  SHARED_MEMORY  true"));
  EXPECT_THAT(report, HasSubstr(ObjectHex('\x01') + "  d1d1d1d1  LOCAL_REFERENCE  -        NOT_HERE       -"));
  EXPECT_THAT(report, HasSubstr("OBJECT_ID                                 OWNER  SIZE     STATE    PRIMARY  READERS"));
  EXPECT_THAT(report, HasSubstr(ObjectHex('\x03') + "  -      4.0 MiB  SPILLED  true     2"));
  EXPECT_THAT(report, HasSubstr(ObjectHex('\x04') + "  -      1.0 KiB  SEALED   false    0"));
  EXPECT_THAT(report, HasSubstr("total: 5 references (and 117 not listed) to 4 distinct objects; 1.5 KiB in process "
                                "memory, 13 MiB in object stores, 4.0 MiB spilled\n"));
}

TEST(FormatMemoryReport, OneNodeWithOneReference) {
  NodeMemory node = Node('\x0a');
  node.reply.set_store_capacity(1 << 30);
  AddReference(*AddProcess(node, '\xd1', true), '\x01', Reference::IN_PROCESS)->set_size(100);
  EXPECT_EQ(FormatMemoryReport({node}),
            "node 0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a at 10.0.0.4:33783\n"
            "  object store: 0 B of 1.0 GiB used (0.0%), 0 objects, 0 spilled (0 B), 0 evicted\n"
            "  driver d1d1d1d1 (pid 1234, job 01000000): 1 reference\n"
            "    OBJECT_ID                                 OWNER  REFERENCE_KIND   SIZE   LOCATION    SPILLED\n"
            "    0101010101010101010101010101010101010101  self   LOCAL_REFERENCE  100 B  IN_PROCESS  -\n"
            "\n"
            "objects by owner:\n"
            "  OWNER                                     NODE      OBJECTS  IN_PROCESS  IN_OBJECT_STORES  SPILLED  BORROWED\n"
            "  driver d1d1d1d1 (pid 1234, job 01000000)  0a0a0a0a  1        100 B       0 B               0 B      0\n"
            "\n"
            "total: 1 reference to 1 distinct object; 100 B in process memory, 0 B in object stores, 0 B spilled\n");
}

TEST(MemoryReportJson, HoldsTheSameAsTheReport) {
  std::vector<NodeMemory> nodes = TwoNodes();
  nlohmann::ordered_json json = MemoryReportJson(nodes);
  ASSERT_EQ(json["nodes"].size(), 2u);
  const nlohmann::ordered_json& a = json["nodes"][0];
  EXPECT_EQ(a["node_id"], NodeHex('\x0a'));
  EXPECT_EQ(a["object_store"]["used_bytes"], 12 << 20);
  EXPECT_EQ(a["object_store"]["spilled_bytes"], 4 << 20);
  ASSERT_EQ(a["processes"].size(), 3u);
  const nlohmann::ordered_json& driver = a["processes"][0];
  EXPECT_EQ(driver["process"], "driver");
  EXPECT_EQ(driver["references_total"], 120);
  EXPECT_TRUE(driver["error"].is_null());
  ASSERT_EQ(driver["references"].size(), 3u);
  // Each reference is its row of `orrery list objects`.
  StateTable table = ObjectsTable(nodes);
  EXPECT_EQ(driver["references"][2], RowJson(table, table.rows[2]));
  EXPECT_EQ(driver["references"][2]["spilled"], true);
  EXPECT_EQ(driver["references"][2]["size"], 4 << 20);
  EXPECT_EQ(a["processes"][1]["error"], "deadline exceeded after 2 s");
  EXPECT_EQ(a["store_objects"][1]["state"], "SPILLED");
  EXPECT_TRUE(a["store_objects"][1]["owner_worker_id"].is_null());
  const nlohmann::ordered_json& summary = json["summary"];
  EXPECT_EQ(summary["references"], 5);
  EXPECT_EQ(summary["references_not_listed"], 117);
  EXPECT_EQ(summary["distinct_objects"], 4);
  EXPECT_EQ(summary["process_memory_bytes"], 1536);
  EXPECT_EQ(summary["object_store_bytes"], 13 << 20);
  EXPECT_EQ(summary["spilled_bytes"], 4 << 20);
}

TEST(MemoryReportJson, TotalsOnlyKeepsEveryCountButNoList) {
  std::vector<NodeMemory> nodes = TwoNodes();
  nlohmann::ordered_json every = MemoryReportJson(nodes);
  nlohmann::ordered_json totals = MemoryReportJson(nodes, MemoryDetail::kTotalsOnly);
  EXPECT_EQ(totals["summary"], every["summary"]);
  EXPECT_EQ(totals["owners"], every["owners"]);
  ASSERT_EQ(totals["nodes"].size(), 2u);
  const nlohmann::ordered_json& a = totals["nodes"][0];
  EXPECT_EQ(a["object_store"], every["nodes"][0]["object_store"]);
  EXPECT_FALSE(a.contains("store_objects")) << a.dump(2);
  ASSERT_EQ(a["processes"].size(), 3u);
  EXPECT_EQ(a["processes"][0]["references_total"], 120);
  EXPECT_FALSE(a["processes"][0].contains("references")) << a.dump(2);
}

TEST(LargestObjectsFirst, SortsBySizeWithUnknownSizesLastAndKeepsTheOrderOfEqualOnes) {
  NodeMemory node = Node('\x0a');
  rpc::ProcessReferences* driver = AddProcess(node, '\xd1', /*is_driver=*/true);
  AddReference(*driver, '\x01', Reference::IN_PROCESS)->set_size(100);
  AddReference(*driver, '\x02');  // not here: no size known
  AddSharedReference(*driver, '\x03', '\x0a');
  AddReference(*driver, '\x04', Reference::IN_PROCESS)->set_size(100);
  AddReference(*driver, '\x05', Reference::IN_PROCESS)->set_size(2048);
  AddStoreObject(node, '\x03', 8 << 20);

  StateTable table = LargestObjectsFirst({node});
  std::vector<std::string> order;
  for (size_t row = 0; row < table.rows.size(); ++row) order.push_back(Cell(table, row, "object_id"));
  EXPECT_THAT(order, ElementsAre(ObjectHex('\x03'), ObjectHex('\x05'), ObjectHex('\x01'), ObjectHex('\x04'),
                                 ObjectHex('\x02')));
  EXPECT_EQ(Cell(table, 0, "size"), std::to_string(8 << 20));
  EXPECT_EQ(Cell(table, 4, "size"), kNoValue);
}

TEST(MemoryReportJson, CountsEachOwnersObjectsAndWhatTheyTakeWhere) {
  NodeMemory node = Node('\x0a');
  rpc::ProcessReferences* driver = AddProcess(node, '\xd1', /*is_driver=*/true, 1234);
  AddReference(*driver, '\x01', Reference::IN_PROCESS)->set_size(1536);
  AddSharedReference(*driver, '\x02', '\x0a')->set_borrowers(1);
  AddSharedReference(*driver, '\x03', '\x0a');
  AddStoreObject(node, '\x02', 8 << 20);
  AddStoreObject(node, '\x03', 4 << 20, rpc::StoreObjectInfo::SPILLED);
  // The worker borrows one of the driver's objects and owns none: it is no owner.
  rpc::ProcessReferences* worker = AddProcess(node, '\x11', /*is_driver=*/false, 4242);
  rpc::ObjectReferenceInfo* borrowed = AddReference(*worker, '\x02');
  borrowed->set_owned(false);
  borrowed->set_owner_worker_id(WorkerBinary('\xd1'));

  nlohmann::ordered_json owners = MemoryReportJson({node})["owners"];
  ASSERT_EQ(owners.size(), 1u) << owners.dump(2);
  EXPECT_EQ(owners[0]["worker_id"], WorkerHex('\xd1'));
  EXPECT_EQ(owners[0]["process"], "driver");
  EXPECT_EQ(owners[0]["node_id"], NodeHex('\x0a'));
  EXPECT_EQ(owners[0]["objects"], 3);
  EXPECT_EQ(owners[0]["process_memory_bytes"], 1536);
  EXPECT_EQ(owners[0]["object_store_bytes"], 12 << 20);
  EXPECT_EQ(owners[0]["spilled_bytes"], 4 << 20);
  EXPECT_EQ(owners[0]["borrowed"], 1);

  std::string report = FormatMemoryReport({node});
  size_t section = report.find("objects by owner:\n");
  ASSERT_NE(section, std::string::npos) << report;
  std::string owner_lines = report.substr(section, report.find("total:") - section);
  EXPECT_THAT(owner_lines, HasSubstr("driver d1d1d1d1 (pid 1234, job 01000000)"));
  EXPECT_THAT(owner_lines, HasSubstr("12 MiB"));
  EXPECT_THAT(owner_lines, Not(HasSubstr("worker 11111111")));
}

}  // namespace
}  // namespace orrery::state
