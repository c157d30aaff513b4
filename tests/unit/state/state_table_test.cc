// The state commands' table: filters, limit, lookup by id, counts, and how it is printed.
#include "src/state/state_table.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

#include "src/state/table.h"

namespace orrery::state {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

StateTable Tasks() {
  return StateTable{"tasks",
                    {{"task_id"},
                     {"attempt", CellType::kInteger},
                     {"function"},
                     {"state"},
                     {"retried", CellType::kBoolean},
                     {"error_message", CellType::kText, /*detail=*/true}},
                    {{"aa01", "0", "Square", "FINISHED", "false", "-"},
                     {"aa02", "0", "Square", "FAILED", "false", "boom"},
                     {"bb01", "0", "Divide", "RUNNING", "false", "-"},
                     {"aa02", "1", "Square", "FINISHED", "true", "-"}}};
}

std::vector<std::string> Ids(const StateTable& table) {
  std::vector<std::string> ids;
  for (const Row& row : table.rows) ids.push_back(row[0] + "/" + row[1]);
  return ids;
}

std::vector<Filter> Filters(const std::vector<std::string>& texts) {
  std::vector<Filter> filters;
  for (const std::string& text : texts) filters.push_back(ParseFilter(text).value());
  return filters;
}

TEST(ParseFilter, ReadsEqualAndNotEqual) {
  Filter equal = ParseFilter("state=FAILED").value();
  EXPECT_EQ(equal.key, "state");
  EXPECT_TRUE(equal.equal);
  EXPECT_EQ(equal.value, "FAILED");
  Filter not_equal = ParseFilter("function!=Square").value();
  EXPECT_EQ(not_equal.key, "function");
  EXPECT_FALSE(not_equal.equal);
  EXPECT_EQ(not_equal.value, "Square");
  // The value is everything after the first '=' and may be empty.
  EXPECT_EQ(ParseFilter("name=a=b").value().value, "a=b");
  EXPECT_EQ(ParseFilter("name=").value().value, "");
}

TEST(ParseFilter, AFilterWithoutKeyOrEqualsIsNamedInTheError) {
  for (const std::string bad : {"state", "=FAILED", "!=FAILED", ""}) {
    auto filter = ParseFilter(bad);
    ASSERT_FALSE(filter.ok()) << bad;
    EXPECT_THAT(filter.status().message(), HasSubstr("'" + bad + "'"));
    EXPECT_THAT(filter.status().message(), HasSubstr("KEY=VALUE or KEY!=VALUE"));
  }
}

TEST(ApplyFilters, KeepsTheRowsEqualOrNotEqual) {
  StateTable equal = Tasks();
  ASSERT_TRUE(ApplyFilters(Filters({"function=Square"}), equal).ok());
  EXPECT_THAT(Ids(equal), ElementsAre("aa01/0", "aa02/0", "aa02/1"));
  StateTable not_equal = Tasks();
  ASSERT_TRUE(ApplyFilters(Filters({"function!=Square"}), not_equal).ok());
  EXPECT_THAT(Ids(not_equal), ElementsAre("bb01/0"));
}

TEST(ApplyFilters, StatesCompareWithoutCaseOtherColumnsExactly) {
  StateTable states = Tasks();
  ASSERT_TRUE(ApplyFilters(Filters({"state=failed"}), states).ok());
  EXPECT_THAT(Ids(states), ElementsAre("aa02/0"));
  StateTable functions = Tasks();
  ASSERT_TRUE(ApplyFilters(Filters({"function=square"}), functions).ok());
  EXPECT_TRUE(functions.rows.empty());
}

TEST(ApplyFilters, SeveralFiltersMustAllHold) {
  StateTable table = Tasks();
  ASSERT_TRUE(ApplyFilters(Filters({"function=Square", "state!=failed", "attempt=0"}), table).ok());
  EXPECT_THAT(Ids(table), ElementsAre("aa01/0"));
}

TEST(ApplyFilters, AnUnknownColumnIsAnErrorListingTheValidOnes) {
  StateTable table = Tasks();
  absl::Status status = ApplyFilters(Filters({"state=FAILED", "foo=1"}), table);
  ASSERT_FALSE(status.ok());
  EXPECT_EQ(status.message(),
            "no column 'foo' for tasks; valid: task_id, attempt, function, state, retried, error_message");
  EXPECT_EQ(table.rows.size(), 4u) << "a failed filter leaves the table as it was";
}

TEST(Limit, KeepsTheFirstRowsAndCountsTheRest) {
  StateTable table = Tasks();
  EXPECT_EQ(Limit(3, table), 1u);
  EXPECT_THAT(Ids(table), ElementsAre("aa01/0", "aa02/0", "bb01/0"));
  EXPECT_EQ(Limit(10, table), 0u);
  EXPECT_EQ(Limit(0, table), 0u) << "0 means all";
  EXPECT_EQ(table.rows.size(), 3u);
}

TEST(ToJson, IsAnArrayOfObjectsKeyedByColumnWithTypedValues) {
  nlohmann::json json = nlohmann::json::parse(ToJson(Tasks()).dump());
  ASSERT_TRUE(json.is_array());
  ASSERT_EQ(json.size(), 4u);
  const nlohmann::json& retried = json[3];
  EXPECT_EQ(retried["task_id"], "aa02");
  EXPECT_EQ(retried["attempt"], 1);
  EXPECT_EQ(retried["function"], "Square");
  EXPECT_EQ(retried["state"], "FINISHED");
  EXPECT_EQ(retried["retried"], true);
  // No value is null; detail columns are there too.
  EXPECT_TRUE(retried["error_message"].is_null());
  EXPECT_EQ(json[1]["error_message"], "boom");
  EXPECT_EQ(retried.size(), 6u);
  // In the order of the columns.
  EXPECT_EQ(ToJson(Tasks())[0].dump(),
            R"({"task_id":"aa01","attempt":0,"function":"Square","state":"FINISHED","retried":false,)"
            R"("error_message":null})");
  EXPECT_EQ(ToJson(StateTable{"tasks", Tasks().columns, {}}).dump(), "[]");
}

// A kJson column: a number of bytes in JSON, shown in kilobytes to a person (and to filters).
std::string ShowKilobytes(const nlohmann::json& bytes) { return std::to_string(bytes.get<int>() / 1000) + "kB"; }

StateTable Sizes() {
  return StateTable{"objects",
                    {{"object_id"}, {"size", CellType::kJson, false, "size_bytes", &ShowKilobytes}},
                    {{"aa01", "2000"}, {"aa02", "5000"}, {"aa03", kNoValue}}};
}

TEST(JsonCells, AreJsonInJsonUnderTheirJsonNameAndShownByTheirDisplayElsewhere) {
  StateTable table = Sizes();
  EXPECT_EQ(ToJson(table).dump(),
            R"([{"object_id":"aa01","size_bytes":2000},{"object_id":"aa02","size_bytes":5000},)"
            R"({"object_id":"aa03","size_bytes":null}])");
  EXPECT_EQ(FormatTable(table), "OBJECT_ID  SIZE\naa01       2kB\naa02       5kB\naa03       -\n");
  EXPECT_EQ(FormatRecord(table, table.rows[1]), "object_id: aa02\nsize: 5kB\n");
  ASSERT_TRUE(ApplyFilters({{"size", true, "5kB"}}, table).ok());
  EXPECT_THAT(Ids(table), ElementsAre("aa02/5000"));
}

TEST(FormatTable, AlignsUpperCasedHeadersAndLeavesOutDetailColumns) {
  StateTable table = Tasks();
  table.rows.resize(2);
  EXPECT_EQ(FormatTable(table),
            "TASK_ID  ATTEMPT  FUNCTION  STATE     RETRIED\n"
            "aa01     0        Square    FINISHED  false\n"
            "aa02     0        Square    FAILED    false\n");
  table.rows.clear();
  EXPECT_EQ(FormatTable(table), "TASK_ID  ATTEMPT  FUNCTION  STATE  RETRIED\n(none)\n");
}

TEST(FormatTable, OfPlainRowsPadsAllButTheLastCell) {
  EXPECT_EQ(FormatTable(std::vector<std::vector<std::string>>{{"A", "BB"}, {"ccc", "d"}}), "A    BB\nccc  d\n");
}

TEST(FormatRecord, IsAKeyValueLinePerColumn) {
  StateTable table = Tasks();
  EXPECT_EQ(FormatRecord(table, table.rows[1]),
            "task_id: aa02\nattempt: 0\nfunction: Square\nstate: FAILED\nretried: false\nerror_message: boom\n");
}

TEST(FindRows, FindsByFullIdInAnyCaseOrByAUniquePrefix) {
  StateTable table = Tasks();
  auto full = FindRows(table, "BB01");
  ASSERT_TRUE(full.ok()) << full.status();
  ASSERT_EQ(full->size(), 1u);
  EXPECT_EQ((*full)[0]->at(0), "bb01");
  auto prefix = FindRows(table, "b");
  ASSERT_TRUE(prefix.ok());
  EXPECT_EQ((*prefix)[0]->at(0), "bb01");
  // The attempts of one task share its id.
  auto attempts = FindRows(table, "aa02");
  ASSERT_TRUE(attempts.ok());
  EXPECT_EQ(attempts->size(), 2u);
}

TEST(FindRows, AnUnknownIdIsNamedAndAnAmbiguousPrefixListsTheMatches) {
  StateTable table = Tasks();
  auto unknown = FindRows(table, "cc");
  EXPECT_EQ(unknown.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(unknown.status().message(), "no task 'cc'");
  auto ambiguous = FindRows(table, "aa");
  EXPECT_EQ(ambiguous.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ambiguous.status().message(), "'aa' is the start of 2 task ids: aa01, aa02; give more of the id");
}

TEST(FindRows, FindsByTheExactValueOfAnAliasColumn) {
  StateTable jobs{"jobs", {{"job_id"}, {"submission_id"}}, {{"01000000", "first"}, {"02000000", "-"}}};
  auto by_submission = FindRows(jobs, "first", {"submission_id"});
  ASSERT_TRUE(by_submission.ok());
  EXPECT_EQ((*by_submission)[0]->at(0), "01000000");
  EXPECT_FALSE(FindRows(jobs, "fir", {"submission_id"}).ok()) << "aliases match whole";
  EXPECT_EQ(SingularOf("placement-groups"), "placement group");
}

TEST(LatestPerKey, KeepsTheLatestAttemptOfEachTask) {
  StateTable latest = LatestPerKey(Tasks(), "task_id", "attempt");
  EXPECT_THAT(Ids(latest), ElementsAre("aa01/0", "aa02/1", "bb01/0"));
}

TEST(CountByState, CountsEachGroupPerStateAndInTotal) {
  StateTable summary =
      CountByState(LatestPerKey(Tasks(), "task_id", "attempt"), "function", {"RUNNING", "FINISHED", "FAILED"});
  EXPECT_EQ(summary.ColumnList(), "function, running, finished, failed, total");
  ASSERT_EQ(summary.rows.size(), 2u);
  EXPECT_THAT(summary.rows[0], ElementsAre("Divide", "1", "0", "0", "1"));
  EXPECT_THAT(summary.rows[1], ElementsAre("Square", "0", "2", "0", "2"));
  EXPECT_EQ(ToJson(summary)[1]["finished"], 2);
}

}  // namespace
}  // namespace orrery::state
