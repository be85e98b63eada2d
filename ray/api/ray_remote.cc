#include "ray/api/ray_remote.h"

#include <cctype>

namespace ray::internal {

std::vector<std::string> SplitRemoteNames(std::string_view names) {
  std::vector<std::string> out(1);
  int depth = 0;
  for (char c : names) {
    if (c == '<' || c == '(' || c == '[') ++depth;
    if (c == '>' || c == ')' || c == ']') --depth;
    if (c == ',' && depth == 0) {
      out.emplace_back();
    } else if (!std::isspace(static_cast<unsigned char>(c)) && !(c == '&' && out.back().empty())) {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace ray::internal
