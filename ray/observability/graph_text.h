// Text and file helpers shared by the computation graph's writers (DOT, timeline): internal
// to ray/core's graph code.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <string_view>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ray/common/id.h"

namespace ray::core::graph_text {

// Valid UTF-8 with control characters turned into spaces and invalid bytes into U+FFFD, cut to
// at most `max_chars` characters (an ellipsis marks the cut).
std::string CleanText(std::string_view s, size_t max_chars = std::numeric_limits<size_t>::max());
// Appends `s` escaped for a double-quoted DOT or JSON string.
void AppendQuoted(std::string* out, std::string_view s);
std::string ShortHex(const uint8_t* id);
std::string ShortTaskId(const TaskID& id);
std::string ShortObjectId(const ObjectID& id);
absl::Status CannotWrite(const std::string& path, int error);
// Creates (truncates) `path` for writing.
absl::StatusOr<int> CreateFile(const std::string& path);
absl::Status WriteFile(const std::string& path, std::string_view data);

}  // namespace ray::core::graph_text
