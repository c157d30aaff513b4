// Plain-text tables for the terminal, shared by every command that prints rows.
#pragma once

#include <string>
#include <vector>

namespace orrery::state {

// The rows as lines, each cell padded to its column's widest cell and two spaces apart; the
// last cell of a line is not padded, so no line ends in spaces.
std::string FormatTable(const std::vector<std::vector<std::string>>& rows);

// FormatTable(rows) on stdout.
void PrintTable(const std::vector<std::vector<std::string>>& rows);

}  // namespace orrery::state
