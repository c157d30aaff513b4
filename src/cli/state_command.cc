// `orrery list`, `orrery get` and `orrery summary`: the cluster's nodes, jobs, actors, tasks,
// placement groups, workers and objects, as a table or JSON. This file turns flags into a
// StateTable (state_sources.h) and what is done to it (state_table.h) into output.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "orrery/gcs.pb.h"
#include "orrery/task_events.pb.h"

#include "src/cli/cluster_connection.h"
#include "src/cli/commands.h"
#include "src/state/state_rows.h"
#include "src/state/state_sources.h"
#include "src/state/state_table.h"

namespace orrery::cli {

using state::ApplyFilters;
using state::ActorsByClass;
using state::EmptyTable;
using state::FetchState;
using state::Filter;
using state::FindRows;
using state::FormatRecord;
using state::FormatTable;
using state::KindNamed;
using state::Limit;
using state::ParseFilter;
using state::Row;
using state::RowJson;
using state::StateKinds;
using state::StateSnapshot;
using state::StateTable;
using state::TasksByFunction;
using state::ToJson;

namespace {

constexpr size_t kDefaultLimit = 100;

struct StateFlags {
  ClusterFlags cluster;
  std::string kind;
  std::string id;
  std::vector<std::string> filters;
  size_t limit = kDefaultLimit;
  std::string format = "table";
  int attempt = -1;
};

// What the user typed as a kind, checked against `kinds`; the error lists them.
absl::StatusOr<std::string> CheckKind(const std::string& name, const std::vector<std::string>& kinds) {
  std::optional<std::string> kind = KindNamed(name);
  if (kind && std::find(kinds.begin(), kinds.end(), *kind) != kinds.end()) return *kind;
  return absl::InvalidArgumentError("no kind '" + name + "'; valid: " + absl::StrJoin(kinds, ", "));
}

// The filters, checked against the columns of `kind` before anything is fetched.
absl::StatusOr<std::vector<Filter>> ParseFilters(const std::vector<std::string>& texts, const std::string& kind) {
  std::vector<Filter> filters;
  for (const std::string& text : texts) {
    auto filter = ParseFilter(text);
    if (!filter.ok()) return filter.status();
    filters.push_back(*filter);
  }
  StateTable columns = EmptyTable(kind);
  absl::Status valid = ApplyFilters(filters, columns);
  if (!valid.ok()) return valid;
  return filters;
}

// Fetches `kind` from the cluster the flags name; warnings (a raylet that did not answer) go
// to stderr.
absl::StatusOr<StateSnapshot> Fetch(const std::string& kind, const ClusterFlags& flags) {
  auto cluster = ConnectToCluster(flags);
  if (!cluster.ok()) return cluster.status();
  auto snapshot = FetchState(kind, *cluster);
  if (!snapshot.ok()) return snapshot.status();
  for (const std::string& warning : snapshot->warnings) fprintf(stderr, "%s\n", warning.c_str());
  return snapshot;
}

// The notes of the jobs `table` shows rows of (tasks whose events were dropped), on stderr.
void PrintJobNotes(const StateSnapshot& snapshot, const StateTable& table) {
  int job_column = table.ColumnIndex("job_id");
  if (job_column < 0) return;
  for (const auto& job_and_note : snapshot.job_notes) {
    const std::string& job = job_and_note.first;  // not a structured binding: clang-14 cannot capture one
    bool shown =
        std::any_of(table.rows.begin(), table.rows.end(), [&](const Row& row) { return row[job_column] == job; });
    if (shown) fprintf(stderr, "%s\n", job_and_note.second.c_str());
  }
}

void PrintRows(const StateTable& table, const std::string& format) {
  if (format == "json") {
    printf("%s\n", ToJson(table).dump(2).c_str());
  } else {
    fputs(FormatTable(table).c_str(), stdout);
  }
}

// The rows of one of `kinds` that pass the flags' filters (both checked before anything is
// fetched), with the notes on the jobs they show printed.
struct Filtered {
  std::string kind;
  StateSnapshot snapshot;
};
absl::StatusOr<Filtered> FetchFiltered(const StateFlags& flags, const std::vector<std::string>& kinds) {
  auto kind = CheckKind(flags.kind, kinds);
  if (!kind.ok()) return kind.status();
  auto filters = ParseFilters(flags.filters, *kind);
  if (!filters.ok()) return filters.status();
  auto snapshot = Fetch(*kind, flags.cluster);
  if (!snapshot.ok()) return snapshot.status();
  (void)ApplyFilters(*filters, snapshot->table);  // checked above
  PrintJobNotes(*snapshot, snapshot->table);
  return Filtered{*kind, std::move(*snapshot)};
}

int RunList(const StateFlags& flags) {
  auto filtered = FetchFiltered(flags, StateKinds());
  if (!filtered.ok()) return Fail("list", std::string(filtered.status().message()));
  StateTable& table = filtered->snapshot.table;
  size_t hidden = Limit(flags.limit, table);
  PrintRows(table, flags.format);
  if (hidden > 0) fprintf(stderr, "(%zu more not shown; use --limit)\n", hidden);
  return 0;
}

// Of the attempts of one task, the one asked for (--attempt), else the latest.
absl::StatusOr<const Row*> PickAttempt(const StateTable& table, const std::vector<const Row*>& rows, int attempt) {
  int column = table.ColumnIndex("attempt");
  const Row* picked = nullptr;
  for (const Row* row : rows) {
    int number = std::stoi((*row)[column]);
    if (attempt >= 0 ? number == attempt : picked == nullptr || number > std::stoi((*picked)[column])) picked = row;
  }
  if (picked == nullptr) {
    return absl::NotFoundError(absl::StrCat("task ", rows[0]->at(0), " has no attempt ", attempt));
  }
  if (rows.size() > 1 && attempt < 0) {
    fprintf(stderr, "note: task %s ran %zu attempts; this is attempt %s (choose one with --attempt)\n",
            (*picked)[0].c_str(), rows.size(), (*picked)[column].c_str());
  }
  return picked;
}

int RunGet(const StateFlags& flags) {
  const std::string verb = "get";
  auto kind = CheckKind(flags.kind, StateKinds());
  if (!kind.ok()) return Fail(verb, std::string(kind.status().message()));
  if (flags.attempt >= 0 && *kind != "tasks") return Fail(verb, "--attempt is for tasks only");
  auto snapshot = Fetch(*kind, flags.cluster);
  if (!snapshot.ok()) return Fail(verb, std::string(snapshot.status().message()));
  const StateTable& table = snapshot->table;
  // A job is also known by the id it was submitted under.
  auto rows = FindRows(table, flags.id,
                       *kind == "jobs" ? std::vector<std::string>{"submission_id"} : std::vector<std::string>{});
  if (!rows.ok()) return Fail(verb, std::string(rows.status().message()));
  auto row = *kind == "tasks" ? PickAttempt(table, *rows, flags.attempt) : absl::StatusOr<const Row*>(rows->front());
  if (!row.ok()) return Fail(verb, std::string(row.status().message()));
  if (*kind == "objects" && rows->size() > 1) {
    // An object has a row per process that holds it.
    const std::string& id = (**row)[0];
    fprintf(stderr,
            "note: %zu processes hold object %s; this is the reference of worker %s (all: orrery list objects "
            "--filter object_id=%s)\n",
            rows->size(), id.c_str(), (**row)[table.ColumnIndex("worker_id")].c_str(), id.c_str());
  }
  if (flags.format == "json") {
    printf("%s\n", RowJson(table, **row).dump(2).c_str());
  } else {
    fputs(FormatRecord(table, **row).c_str(), stdout);
  }
  return 0;
}

int RunSummary(const StateFlags& flags) {
  auto filtered = FetchFiltered(flags, {"tasks", "actors"});
  if (!filtered.ok()) return Fail("summary", std::string(filtered.status().message()));
  const StateTable& table = filtered->snapshot.table;
  const StateTable summary = filtered->kind == "tasks" ? TasksByFunction(table) : ActorsByClass(table);
  PrintRows(summary, flags.format);
  return 0;
}

void AddFormatFlag(CLI::App& command, StateFlags& flags) {
  command.add_option("--format", flags.format, "table or json")
      ->check(CLI::IsMember({"table", "json"}))
      ->capture_default_str();
}

void AddFilterFlag(CLI::App& command, StateFlags& flags) {
  // One filter per --filter, so that a filter never swallows the words after it.
  command.add_option("--filter", flags.filters, "KEY=VALUE or KEY!=VALUE on a column (repeatable; all must hold)")
      ->allow_extra_args(false);
}

}  // namespace

void AddStateCommands(CLI::App& app, int& exit_code) {
  auto flags = std::make_shared<StateFlags>();
  std::string kinds = absl::StrJoin(StateKinds(), "|");

  CLI::App* list = app.add_subcommand("list", "List the cluster's " + absl::StrJoin(StateKinds(), ", "));
  list->add_option("kind", flags->kind, kinds)->required();
  AddFilterFlag(*list, *flags);
  list->add_option("--limit", flags->limit, "Show at most this many rows (0: all)")->capture_default_str();
  AddFormatFlag(*list, *flags);
  AddClusterFlags(*list, flags->cluster);
  list->footer("Example: orrery list tasks --filter state=FAILED --filter function=Square --limit 20");
  list->callback([flags, &exit_code] { exit_code = RunList(*flags); });

  CLI::App* get =
      app.add_subcommand("get", "Show every field of one node, job, actor, task, placement group, worker or object");
  get->add_option("kind", flags->kind, "node|job|actor|task|placement-group|worker|object")->required();
  get->add_option("id", flags->id, "Its id in hex, or the start of it; a job also by its submission id")->required();
  get->add_option("--attempt", flags->attempt, "The attempt of a task to show (default: its latest)");
  AddFormatFlag(*get, *flags);
  AddClusterFlags(*get, flags->cluster);
  get->footer("Example: orrery get actor 3f2a");
  get->callback([flags, &exit_code] { exit_code = RunGet(*flags); });

  CLI::App* summary = app.add_subcommand("summary", "Count the tasks (by function) or actors (by class) in each state");
  summary->add_option("kind", flags->kind, "tasks|actors")->required();
  AddFilterFlag(*summary, *flags);
  AddFormatFlag(*summary, *flags);
  AddClusterFlags(*summary, flags->cluster);
  summary->footer("Example: orrery summary tasks --filter job_id=01000000");
  summary->callback([flags, &exit_code] { exit_code = RunSummary(*flags); });
}

}  // namespace orrery::cli
