// Plain-text tables for terminal reports.
#include "chop/support/table.h"

#include <algorithm>
#include <cctype>

namespace chop {
namespace {

bool looks_numeric(const std::string& s) {
  if (s.empty()) return false;
  return std::all_of(s.begin(), s.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ',' ||
           c == 'e' || c == '+';
  });
}

}  // namespace

std::string Table::render(Style style) const {
  // Org style follows tabulate: headers get two spaces of room, and numeric columns (header
  // included) align right.
  size_t header_room = style == Style::Org ? 2 : 0;
  std::vector<size_t> width(header_.size(), 0);
  std::vector<bool> numeric(header_.size(), !rows_.empty());
  for (size_t c = 0; c < header_.size(); ++c) width[c] = header_[c].size() + header_room;
  for (const auto& row : rows_)
    for (size_t c = 0; c < row.size() && c < width.size(); ++c) {
      width[c] = std::max(width[c], row[c].size());
      numeric[c] = numeric[c] && looks_numeric(row[c]);
    }

  auto line = [&](const std::vector<std::string>& cells, bool header) {
    std::string out = "|";
    for (size_t c = 0; c < width.size(); ++c) {
      std::string cell = c < cells.size() ? cells[c] : "";
      std::string pad(width[c] - cell.size(), ' ');
      bool right = header ? style == Style::Org && numeric[c] : looks_numeric(cell);
      out += " " + (right ? pad + cell : cell + pad) + " |";
    }
    return out + "\n";
  };
  std::string out = line(header_, true);
  out += "|";
  for (size_t c = 0; c < width.size(); ++c) {
    out += std::string(width[c] + 2, '-');
    out += style == Style::Org && c + 1 < width.size() ? "+" : "|";
  }
  out += "\n";
  for (const auto& row : rows_) out += line(row, false);
  return out;
}

}  // namespace chop
