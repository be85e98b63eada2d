// The `ray` command line: `ray COMMAND [--flag=value | --flag value | --bool-flag]...`.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ray::cli {

struct Args {
  std::string command;                       // start, status, stop
  std::map<std::string, std::string> flags;  // name (without --) to value; "true" for a bool
};

// `bool_flags` take no value.
absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::vector<std::string>& bool_flags);

// --resources='{"name": amount, ...}': a JSON object of numbers.
absl::StatusOr<std::map<std::string, double>> ParseResources(const std::string& json);

}  // namespace ray::cli
