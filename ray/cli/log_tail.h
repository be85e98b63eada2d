// The last lines of a log file, to quote in an error (the file may be gone by the time it is read).
#pragma once

#include <string>

namespace ray::cli {

// The last `count` lines of the file at `path` that are not blank (of its last 4 KiB), trimmed
// and joined by " / "; "" if there are none.
std::string LastLines(const std::string& path, int count);

}  // namespace ray::cli
