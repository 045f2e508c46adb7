// Files written whole or not at all.
#pragma once

#include <string>

namespace chop {

/// Writes text to path through a temporary file renamed into place (parent directories are
/// created), so a crash never leaves a half-written file. Throws DataError when it cannot.
void write_file_atomically(const std::string& path, const std::string& text);

/// Removes the temporary files write_file_atomically left under dir (recursively) when a process
/// was killed mid-write: those whose writer process no longer runs (a live writer's, e.g.
/// another worker's, are kept). A missing dir is nothing to do. Returns how many it removed.
int remove_stale_temporaries(const std::string& dir);

}  // namespace chop
