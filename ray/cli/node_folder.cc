#include "ray/cli/node_folder.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace ray::cli {
namespace {

// Field 22 of /proc/PID/stat: when the process started, in clock ticks after boot. "" if it
// does not run (ended, a zombie, or not this user's).
std::string StartTime(pid_t pid) {
  std::string proc = absl::StrCat("/proc/", pid);
  struct stat info;
  if (stat(proc.c_str(), &info) != 0 || info.st_uid != getuid()) return "";
  std::ifstream file(proc + "/stat");
  std::string stat((std::istreambuf_iterator<char>(file)), std::istreambuf_iterator<char>());
  size_t end = stat.rfind(')');  // the command name may hold spaces
  if (end == std::string::npos) return "";
  std::istringstream fields(stat.substr(end + 2));
  std::string field;
  if (!(fields >> field) || field == "Z") return "";
  for (int i = 4; i <= 22 && fields >> field; ++i) {
  }
  return field;
}

}  // namespace

std::string NodeFolderPath(const std::string& root, const std::string& node_id) {
  return absl::StrCat(root, "/node-", node_id);
}

std::string StoreSocketPath(const std::string& folder) { return folder + "/store.sock"; }

absl::StatusOr<std::string> MakeNodeFolder(const std::string& root, const std::string& node_id) {
  std::string folder = NodeFolderPath(root, node_id);
  if (mkdir(folder.c_str(), 0700) != 0) {
    return absl::InternalError(absl::StrCat("cannot make ", folder, ": ", strerror(errno)));
  }
  return folder;
}

absl::Status WritePidFile(const std::string& folder) {
  std::ofstream file(folder + "/node.pid");
  file << getpid() << " " << StartTime(getpid()) << "\n";
  file.close();
  if (!file) return absl::InternalError(absl::StrCat("cannot write ", folder, "/node.pid"));
  return absl::OkStatus();
}

std::vector<NodeFolder> ListNodeFolders(const std::string& root) {
  std::vector<NodeFolder> folders;
  DIR* dir = opendir(root.c_str());
  if (dir == nullptr) return folders;
  while (dirent* entry = readdir(dir)) {
    if (!absl::StartsWith(entry->d_name, "node-")) continue;
    NodeFolder folder{absl::StrCat(root, "/", entry->d_name)};
    std::ifstream file(folder.path + "/node.pid");
    pid_t pid = -1;
    std::string start;
    if (file >> pid >> start && pid > 0 && !start.empty() && StartTime(pid) == start) {
      folder.pid = pid;
    }
    folders.push_back(std::move(folder));
  }
  closedir(dir);
  return folders;
}

}  // namespace ray::cli
