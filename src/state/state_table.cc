#include "src/state/state_table.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"

#include "src/state/table.h"

namespace orrery::state {

namespace {

// States are enum names the user types in any case; everything else is compared exactly.
bool CellMatches(const Column& column, const std::string& cell, const std::string& value) {
  std::string shown = ShownCell(column, cell);
  return column.name == "state" ? absl::EqualsIgnoreCase(shown, value) : shown == value;
}

// More ids than this in an "ambiguous prefix" error are counted, not listed.
constexpr size_t kMaxListedMatches = 10;

}  // namespace

int StateTable::ColumnIndex(const std::string& name) const {
  for (size_t i = 0; i < columns.size(); ++i) {
    if (columns[i].name == name) return static_cast<int>(i);
  }
  return -1;
}

std::string StateTable::ColumnList() const {
  return absl::StrJoin(columns, ", ", [](std::string* out, const Column& column) { out->append(column.name); });
}

std::string SingularOf(const std::string& kind) {
  std::string singular = absl::StrReplaceAll(kind, {{"-", " "}});
  if (absl::EndsWith(singular, "s")) singular.pop_back();
  return singular;
}

absl::StatusOr<Filter> ParseFilter(const std::string& text) {
  size_t equals = text.find('=');
  Filter filter;
  filter.equal = !(equals != std::string::npos && equals > 0 && text[equals - 1] == '!');
  filter.key = equals == std::string::npos ? "" : text.substr(0, filter.equal ? equals : equals - 1);
  if (filter.key.empty()) {
    return absl::InvalidArgumentError("--filter '" + text + "': expected KEY=VALUE or KEY!=VALUE");
  }
  filter.value = text.substr(equals + 1);
  return filter;
}

absl::Status ApplyFilters(const std::vector<Filter>& filters, StateTable& table) {
  std::vector<int> indices;
  for (const Filter& filter : filters) {
    int index = table.ColumnIndex(filter.key);
    if (index < 0) {
      return absl::InvalidArgumentError(
          absl::StrCat("no column '", filter.key, "' for ", table.kind, "; valid: ", table.ColumnList()));
    }
    indices.push_back(index);
  }
  auto fails = [&](const Row& row) {
    for (size_t i = 0; i < filters.size(); ++i) {
      const Filter& filter = filters[i];
      if (CellMatches(table.columns[indices[i]], row[indices[i]], filter.value) != filter.equal) return true;
    }
    return false;
  };
  table.rows.erase(std::remove_if(table.rows.begin(), table.rows.end(), fails), table.rows.end());
  return absl::OkStatus();
}

size_t Limit(size_t limit, StateTable& table) {
  if (limit == 0 || table.rows.size() <= limit) return 0;
  size_t dropped = table.rows.size() - limit;
  table.rows.resize(limit);
  return dropped;
}

std::string ShownCell(const Column& column, const std::string& cell) {
  if (column.type != CellType::kJson || column.display == nullptr || cell == kNoValue) return cell;
  nlohmann::json value = nlohmann::json::parse(cell, nullptr, /*allow_exceptions=*/false);
  return value.is_discarded() ? cell : column.display(value);
}

nlohmann::ordered_json RowJson(const StateTable& table, const Row& row) {
  nlohmann::ordered_json object = nlohmann::ordered_json::object();
  for (size_t i = 0; i < table.columns.size(); ++i) {
    const Column& column = table.columns[i];
    const std::string& key = column.json_name.empty() ? column.name : column.json_name;
    const std::string& cell = row[i];
    int64_t number;
    if (cell == kNoValue) {
      object[key] = nullptr;
    } else if (column.type == CellType::kInteger && absl::SimpleAtoi(cell, &number)) {
      object[key] = number;
    } else if (column.type == CellType::kBoolean && (cell == "true" || cell == "false")) {
      object[key] = cell == "true";
    } else if (column.type == CellType::kJson) {
      nlohmann::ordered_json value = nlohmann::ordered_json::parse(cell, nullptr, /*allow_exceptions=*/false);
      object[key] = value.is_discarded() ? nlohmann::ordered_json(cell) : std::move(value);
    } else {
      object[key] = cell;
    }
  }
  return object;
}

nlohmann::ordered_json ToJson(const StateTable& table) {
  nlohmann::ordered_json array = nlohmann::ordered_json::array();
  for (const Row& row : table.rows) array.push_back(RowJson(table, row));
  return array;
}

std::string FormatTable(const StateTable& table) {
  std::vector<size_t> shown;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    if (!table.columns[i].detail) shown.push_back(i);
  }
  std::vector<std::vector<std::string>> lines(1);
  for (size_t i : shown) lines[0].push_back(absl::AsciiStrToUpper(table.columns[i].name));
  for (const Row& row : table.rows) {
    std::vector<std::string>& line = lines.emplace_back();
    for (size_t i : shown) line.push_back(ShownCell(table.columns[i], row[i]));
  }
  return FormatTable(lines) + (table.rows.empty() ? "(none)\n" : "");
}

std::string FormatRecord(const StateTable& table, const Row& row) {
  std::string out;
  for (size_t i = 0; i < table.columns.size(); ++i) {
    absl::StrAppend(&out, table.columns[i].name, ": ", ShownCell(table.columns[i], row[i]), "\n");
  }
  return out;
}

absl::StatusOr<std::vector<const Row*>> FindRows(const StateTable& table, const std::string& id,
                                                 const std::vector<std::string>& alias_columns) {
  std::string singular = SingularOf(table.kind);
  if (id.empty()) return absl::InvalidArgumentError("no " + singular + " id given");
  std::vector<int> aliases;
  for (const std::string& alias : alias_columns) aliases.push_back(table.ColumnIndex(alias));
  std::vector<const Row*> exact, by_prefix;
  std::vector<std::string> prefixed_ids;  // distinct, in table order
  for (const Row& row : table.rows) {
    bool alias_matches = std::any_of(aliases.begin(), aliases.end(), [&](int i) { return i >= 0 && row[i] == id; });
    if (alias_matches || absl::EqualsIgnoreCase(row[0], id)) {
      exact.push_back(&row);
    } else if (absl::StartsWithIgnoreCase(row[0], id)) {
      by_prefix.push_back(&row);
      if (std::find(prefixed_ids.begin(), prefixed_ids.end(), row[0]) == prefixed_ids.end()) {
        prefixed_ids.push_back(row[0]);
      }
    }
  }
  if (!exact.empty()) return exact;
  if (prefixed_ids.size() == 1) return by_prefix;
  if (prefixed_ids.empty()) return absl::NotFoundError("no " + singular + " '" + id + "'");
  std::string listed = absl::StrJoin(prefixed_ids.begin(),
                                     prefixed_ids.begin() + std::min(prefixed_ids.size(), kMaxListedMatches), ", ");
  if (prefixed_ids.size() > kMaxListedMatches) absl::StrAppend(&listed, ", ...");
  return absl::InvalidArgumentError(absl::StrCat("'", id, "' is the start of ", prefixed_ids.size(), " ", singular,
                                                 " ids: ", listed, "; give more of the id"));
}

StateTable LatestPerKey(const StateTable& table, const std::string& key, const std::string& order) {
  int key_index = table.ColumnIndex(key);
  int order_index = table.ColumnIndex(order);
  StateTable latest{table.kind, table.columns, {}};
  std::map<std::string, size_t> position;  // key -> its row in `latest`
  auto order_of = [&](const Row& row) {
    int64_t value = 0;
    return absl::SimpleAtoi(row[order_index], &value) ? value : -1;
  };
  for (const Row& row : table.rows) {
    auto [it, added] = position.emplace(row[key_index], latest.rows.size());
    if (added) {
      latest.rows.push_back(row);
    } else if (order_of(row) > order_of(latest.rows[it->second])) {
      latest.rows[it->second] = row;
    }
  }
  return latest;
}

StateTable CountByState(const StateTable& table, const std::string& group, const std::vector<std::string>& states) {
  int group_index = table.ColumnIndex(group);
  int state_index = table.ColumnIndex("state");
  StateTable summary{table.kind + " summary", {{group}}, {}};
  for (const std::string& state : states) summary.columns.push_back({absl::AsciiStrToLower(state), CellType::kInteger});
  summary.columns.push_back({"total", CellType::kInteger});
  // Per group: a count per state, then the total.
  std::map<std::string, std::vector<int64_t>> counts;
  for (const Row& row : table.rows) {
    std::vector<int64_t>& count = counts[row[group_index]];
    count.resize(states.size() + 1);
    for (size_t i = 0; i < states.size(); ++i) {
      if (absl::EqualsIgnoreCase(row[state_index], states[i])) ++count[i];
    }
    ++count.back();
  }
  for (const auto& [name, count] : counts) {
    Row& row = summary.rows.emplace_back(Row{name});
    for (int64_t n : count) row.push_back(std::to_string(n));
  }
  return summary;
}

}  // namespace orrery::state
