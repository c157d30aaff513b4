// What `orrery list`, `orrery get` and `orrery summary` show: the cluster's resources of one
// kind as a table of strings, and what the user can do to it (filter, limit, look up by id,
// count) and how it is printed (aligned columns, `key: value` records, JSON). Pure: nothing
// here talks to a cluster, so all of it is unit-tested.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "nlohmann/json.hpp"

namespace orrery::state {

// The cell of a value the cluster does not have (a dead node's address, a task never run).
inline const std::string kNoValue = "-";

// How a column's cells go into JSON; the table shows every cell as it is, but kJson's.
enum class CellType {
  kText,
  kInteger,  // a JSON number
  kBoolean,  // "true"/"false": a JSON boolean
  kJson,     // JSON text (numbers as numbers: {"CPU": {"used": 1, "total": 2}}), shown by `display`
};

struct Column {
  // snake_case: the --filter key (and the JSON key, unless json_name says otherwise);
  // upper-cased, the table header.
  std::string name;
  CellType type = CellType::kText;
  // Too long for a table row (an error message): shown by `get` and in JSON only.
  bool detail = false;
  // kJson: the JSON key when the value's unit is not the table's ("duration_s").
  std::string json_name;
  // kJson: how the value is written for a person (tables, `get`, filters).
  std::string (*display)(const nlohmann::json& value) = nullptr;
};

// The cell as a person reads it: kJson through its column's display, every other as it is.
std::string ShownCell(const Column& column, const std::string& cell);

// One cell per column, in the order of StateTable::columns.
using Row = std::vector<std::string>;

struct StateTable {
  // As `orrery list` names it: "tasks", "placement-groups".
  std::string kind;
  // The first column is the resource's id.
  std::vector<Column> columns;
  std::vector<Row> rows;

  // The column named `name`, or -1.
  int ColumnIndex(const std::string& name) const;
  // "task_id, attempt, ...", for errors.
  std::string ColumnList() const;
};

// "task", "placement group": one resource of `kind`, for messages.
std::string SingularOf(const std::string& kind);

// --filter KEY=VALUE or KEY!=VALUE.
struct Filter {
  std::string key;
  bool equal = true;
  std::string value;
};

// Parses "KEY=VALUE" or "KEY!=VALUE" (VALUE may be empty or hold '='); an error names `text`.
absl::StatusOr<Filter> ParseFilter(const std::string& text);

// Keeps the rows for which every filter holds. Cells compare as strings, the `state` column
// without regard to case (state=alive). A key that is no column of the table is an error that
// lists the valid ones, and leaves the table as it was.
absl::Status ApplyFilters(const std::vector<Filter>& filters, StateTable& table);

// Keeps the first `limit` rows (0: all of them); returns how many it dropped.
size_t Limit(size_t limit, StateTable& table);

// The row as a JSON object keyed by column names (or json_name), in column order: kNoValue is
// null, integer and boolean columns are numbers and booleans, kJson cells their JSON, every
// other cell a string.
nlohmann::ordered_json RowJson(const StateTable& table, const Row& row);

// The rows as a JSON array of RowJson objects.
nlohmann::ordered_json ToJson(const StateTable& table);

// The table's columns (detail columns left out) under upper-cased headers, aligned; "(none)"
// under the headers when there are no rows.
std::string FormatTable(const StateTable& table);

// Every column of `row` as a "key: value" line, detail columns included.
std::string FormatRecord(const StateTable& table, const Row& row);

// The rows of the resource `id` names: its full id (any case), a unique prefix of it, or the
// exact value of one of `alias_columns` (a job's submission id). Several rows when they share
// the id (the attempts of one task). Not found: NotFound naming `id`; a prefix of several ids:
// InvalidArgument listing them.
absl::StatusOr<std::vector<const Row*>> FindRows(const StateTable& table, const std::string& id,
                                                 const std::vector<std::string>& alias_columns = {});

// The rows with the highest `order` (an integer column) among those with the same `key`: the
// latest attempt of each task. Order of first appearance.
StateTable LatestPerKey(const StateTable& table, const std::string& key, const std::string& order);

// How many rows have each value of the `group` column (rows sorted by it), one integer
// column per state of `states` (named in lower case) counting the rows in that state of the
// `state` column, and `total`.
StateTable CountByState(const StateTable& table, const std::string& group, const std::vector<std::string>& states);

}  // namespace orrery::state
