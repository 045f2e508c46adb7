// Plain-text tables for terminal reports.
#pragma once

#include <string>
#include <vector>

namespace chop {

/// A table with a header row; columns are padded to the widest cell.
class Table {
 public:
  explicit Table(std::vector<std::string> header) : header_(std::move(header)) {}
  void add_row(std::vector<std::string> row) { rows_.push_back(std::move(row)); }
  enum class Style {
    Markdown,  ///< |---|---| under the header
    Org,       ///< |---+---| under the header (tabulate's "orgtbl", as MASE prints)
  };
  /// Render with `|` separators and a rule under the header. Numeric-looking cells align right.
  std::string render(Style style = Style::Markdown) const;

 private:
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace chop
