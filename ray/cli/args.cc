#include "ray/cli/args.h"

#include <algorithm>
#include <cctype>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace ray::cli {

absl::StatusOr<Args> ParseArgs(const std::vector<std::string>& argv,
                               const std::vector<std::string>& bool_flags) {
  Args args;
  for (size_t i = 0; i < argv.size(); ++i) {
    const std::string& arg = argv[i];
    if (arg.rfind("--", 0) != 0) {
      if (!args.command.empty()) return absl::InvalidArgumentError("unexpected argument " + arg);
      args.command = arg;
      continue;
    }
    std::string name = arg.substr(2);
    std::string value = "true";
    if (size_t eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.resize(eq);
    } else if (std::find(bool_flags.begin(), bool_flags.end(), name) == bool_flags.end()) {
      if (i + 1 == argv.size()) return absl::InvalidArgumentError("--" + name + " needs a value");
      value = argv[++i];
    }
    std::replace(name.begin(), name.end(), '_', '-');
    args.flags[name] = value;
  }
  return args;
}

absl::StatusOr<std::map<std::string, double>> ParseResources(const std::string& json) {
  std::map<std::string, double> resources;
  auto bad = [&json](const std::string& why) {
    return absl::InvalidArgumentError(
        absl::StrCat("--resources must be a JSON object of numbers such as '{\"gpu_box\": 1}' (",
                     why, "): ", json));
  };
  size_t i = 0;
  auto skip = [&] {
    while (i < json.size() && std::isspace(static_cast<unsigned char>(json[i]))) ++i;
  };
  skip();
  if (i == json.size() || json[i++] != '{') return bad("no '{'");
  skip();
  if (i < json.size() && json[i] == '}') return resources;
  while (true) {
    skip();
    if (i == json.size() || json[i++] != '"') return bad("a name must be quoted");
    size_t end = json.find('"', i);
    if (end == std::string::npos) return bad("an unterminated name");
    std::string name = json.substr(i, end - i);
    i = end + 1;
    skip();
    if (i == json.size() || json[i++] != ':') return bad("no ':' after a name");
    skip();
    size_t start = i;
    while (i < json.size() && json[i] != ',' && json[i] != '}') ++i;
    double amount;
    if (name.empty() ||
        !absl::SimpleAtod(absl::StripAsciiWhitespace(json.substr(start, i - start)), &amount) ||
        !(amount >= 0)) {
      return bad("each amount a number >= 0");
    }
    resources[name] = amount;
    if (i == json.size()) return bad("no '}'");
    if (json[i++] == '}') break;
  }
  skip();
  if (i != json.size()) return bad("text after '}'");
  return resources;
}

}  // namespace ray::cli
