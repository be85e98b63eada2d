// A node's session folder under the user's root (local_files.h): node-<id>, mode 0700, holding
// its store's socket, its logs and `node.pid`, which names the node's process and its start
// time so that `ray stop` signals that process only, never another that reused the pid.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace ray::cli {

// root/node-<id>.
std::string NodeFolderPath(const std::string& root, const std::string& node_id);
// The node's store's socket in its folder.
std::string StoreSocketPath(const std::string& folder);
// Makes root/node-<id> (0700); returns its path.
absl::StatusOr<std::string> MakeNodeFolder(const std::string& root, const std::string& node_id);
// Writes node.pid for this process.
absl::Status WritePidFile(const std::string& folder);

struct NodeFolder {
  std::string path;
  pid_t pid = -1;  // -1: no live process of this user's is the node recorded here
};
// Every node folder under `root`, with its process if it still runs as recorded.
std::vector<NodeFolder> ListNodeFolders(const std::string& root);

}  // namespace ray::cli
