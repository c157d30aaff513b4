#include "absl/strings/string_view.h"
#include "src/common/config_table.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "absl/strings/match.h"

namespace orrery {

const char* ProcessEnv(const char* name) { return std::getenv(name); }

std::string ConfigField::FlagName() const { return absl::StrReplaceAll(name, {{"_", "-"}}); }

std::string ConfigField::EnvName() const { return "ORRERY_" + absl::AsciiStrToUpper(name); }

absl::Status ParseConfigValue(absl::string_view text, bool* out) {
  std::string lower = absl::AsciiStrToLower(text);
  if (lower == "1" || lower == "true" || lower == "yes" || lower == "on") {
    *out = true;
  } else if (lower == "0" || lower == "false" || lower == "no" || lower == "off") {
    *out = false;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("expected true or false, got '", text, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseConfigValue(absl::string_view text, int32_t* out) {
  if (!absl::SimpleAtoi(text, out)) {
    return absl::InvalidArgumentError(absl::StrCat("expected a 32-bit integer, got '", text, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseConfigValue(absl::string_view text, int64_t* out) {
  if (!absl::SimpleAtoi(text, out)) {
    return absl::InvalidArgumentError(absl::StrCat("expected an integer, got '", text, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseConfigValue(absl::string_view text, double* out) {
  if (!absl::SimpleAtod(text, out)) {
    return absl::InvalidArgumentError(absl::StrCat("expected a number, got '", text, "'"));
  }
  return absl::OkStatus();
}

absl::Status ParseConfigValue(absl::string_view text, std::string* out) {
  *out = std::string(text);
  return absl::OkStatus();
}

absl::Status ParseConfigValue(absl::string_view text, std::vector<std::string>* out) {
  out->clear();
  if (text.empty()) return absl::OkStatus();
  for (absl::string_view part : absl::StrSplit(absl::string_view(text.data(), text.size()), ',')) {
    out->emplace_back(part);
  }
  return absl::OkStatus();
}

std::string FormatConfigValue(bool value) { return value ? "true" : "false"; }
std::string FormatConfigValue(int32_t value) { return std::to_string(value); }
std::string FormatConfigValue(int64_t value) { return std::to_string(value); }
std::string FormatConfigValue(double value) { return absl::StrCat(value); }
std::string FormatConfigValue(const std::string& value) { return value; }
std::string FormatConfigValue(const std::vector<std::string>& value) { return absl::StrJoin(value, ","); }

absl::Status AnnotateField(const ConfigField& field, const absl::Status& status, absl::string_view source) {
  if (status.ok()) return status;
  std::string where = source.empty() ? "--" + field.FlagName() : std::string(source);
  return absl::Status(status.code(), absl::StrCat(where, ": ", status.message()));
}

absl::Status ApplyPrefixedFlagsImpl(const std::vector<ConfigField>& fields, void* config,
                                    std::vector<std::string>& args, absl::string_view prefix) {
  std::vector<std::string> kept;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (!absl::StartsWith(arg, prefix)) {
      kept.push_back(arg);
      continue;
    }
    std::string body = arg.substr(prefix.size());
    std::string name = body;
    std::string value;
    bool has_value = false;
    if (size_t eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    const ConfigField* field = nullptr;
    for (const auto& f : fields) {
      if (f.name == name) field = &f;
    }
    if (field == nullptr) {
      std::vector<std::string> names;
      for (const auto& f : fields) names.push_back(std::string(prefix) + f.name);
      return absl::InvalidArgumentError(
          absl::StrCat("unknown flag ", std::string(prefix), name, "; known: ", absl::StrJoin(names, ", ")));
    }
    if (!has_value) {
      bool next_is_bool = false;
      if (i + 1 < args.size()) {
        bool ignored;
        next_is_bool = ParseConfigValue(args[i + 1], &ignored).ok();
      }
      if (field->type_name == "bool" && !next_is_bool) {
        // `--orrery_flag` alone means true; the next word is the user's, not ours.
        value = "true";
      } else if (i + 1 < args.size()) {
        value = args[++i];
      } else {
        return absl::InvalidArgumentError(absl::StrCat(arg, " needs a value"));
      }
    }
    absl::Status status = field->set(config, value);
    if (!status.ok()) return AnnotateField(*field, status, std::string(prefix) + name);
  }
  args = std::move(kept);
  return absl::OkStatus();
}

std::string DumpFields(const std::vector<ConfigField>& fields, const void* config) {
  std::string out;
  for (const auto& field : fields) {
    absl::StrAppend(&out, field.name, " = ", field.secret ? std::string("<hidden>") : field.get(config), "\n");
  }
  return out;
}

}  // namespace orrery
