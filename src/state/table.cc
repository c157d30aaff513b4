#include "src/state/table.h"

#include <algorithm>
#include <cstdio>

namespace orrery::state {

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    widths.resize(std::max(widths.size(), row.size()));
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    for (size_t i = 0; i < row.size(); ++i) {
      out += row[i];
      if (i + 1 < row.size()) out += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += '\n';
  }
  return out;
}

void PrintTable(const std::vector<std::vector<std::string>>& rows) { fputs(FormatTable(rows).c_str(), stdout); }

}  // namespace orrery::state
