// Files written whole or not at all.
#pragma once

#include <string>

namespace chop {

/// Writes text to path through a temporary file renamed into place (parent directories are
/// created), so a crash never leaves a half-written file. Throws DataError when it cannot.
void write_file_atomically(const std::string& path, const std::string& text);

}  // namespace chop
