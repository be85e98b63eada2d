// ray_store: the node's object store daemon. One per node; clients connect over a unix socket
// and receive the shared memory that holds the objects.
#include <signal.h>

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string_view>
#include <vector>

#include "absl/flags/flag.h"
#include "absl/flags/parse.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage.h"
#include "absl/strings/str_cat.h"
#include "ray/common/byte_count.h"
#include "ray/store/object_store.h"
#include "ray/store/store_runner.h"

ABSL_FLAG(std::string, socket, "", "Path of the unix socket to serve on (required).");
ABSL_FLAG(std::string, capacity, "1G",
          "Bytes of shared memory for objects; suffixes K, M, G allowed (e.g. 512M).");
ABSL_FLAG(uint32_t, max_objects, 1 << 20, "Most objects the store holds at once.");
ABSL_FLAG(bool, huge_pages, false,
          "Back the arena with 2 MiB huge pages when the system has enough free "
          "(vm.nr_hugepages); falls back to ordinary pages.");
ABSL_FLAG(
    bool, preallocate, false,
    "Allocate and map all of the arena and index at startup (slower start, memory committed at "
    "once) so that puts never pay for first-touch page faults in the store's memory.");
ABSL_FLAG(uint32_t, max_clients, ray::store::StoreOptions{}.max_clients,
          "Most clients (sessions) the store serves at once; each costs it a descriptor.");
ABSL_FLAG(uint32_t, max_sessions_per_connection,
          ray::store::ServerOptions{}.max_sessions_per_connection,
          "Most sessions one connection may open (the client library opens one).");
ABSL_FLAG(uint32_t, max_unsent_seals, ray::store::ServerOptions{}.max_unsent_seals,
          "Seal notifications a subscriber may leave unread before the store closes its "
          "connection.");
ABSL_FLAG(std::string, owner_token_file, "",
          "A file holding a secret: the client that connects with it owns the store (may delete "
          "any object). Empty: the store has no owner.");
ABSL_FLAG(int, ready_fd, -1,
          "If set, write \"ready\\n\" to this descriptor once the socket accepts clients, then "
          "close it.");

namespace {

// absl's --help exits 1 and lists only flags defined in a file named after the binary
// (ray_store.cc), which matches none here: answer a plain --help ourselves.
bool WantsHelp(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--") break;
    if (arg == "--help" || arg == "-help") return true;
  }
  return false;
}

void PrintHelp() {
  std::vector<absl::CommandLineFlag*> flags;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (flag->Filename() == __FILE__) flags.push_back(flag);
  }
  std::sort(flags.begin(), flags.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  std::cout << absl::ProgramUsageMessage() << "\n\nFlags:\n";
  for (const absl::CommandLineFlag* flag : flags) {
    std::cout << "  --" << flag->Name() << ": " << flag->Help()
              << " (default: " << flag->DefaultValue() << ")\n";
  }
}

}  // namespace

int main(int argc, char** argv) {
  absl::SetProgramUsageMessage(
      "The libray object store: holds immutable objects in shared memory for the processes "
      "of one node.\nUsage: ray_store --socket=PATH [--capacity=1G] [--max_objects=N]");
  if (WantsHelp(argc, argv)) {
    PrintHelp();
    return 0;
  }
  absl::ParseCommandLine(argc, argv);
  std::string socket_path = absl::GetFlag(FLAGS_socket);
  ray::store::StoreOptions options;
  if (socket_path.empty()) {
    std::cerr << "ray_store: --socket is required (see --help)\n";
    return 2;
  }
  if (!ray::ParseByteCount(absl::GetFlag(FLAGS_capacity), &options.capacity)) {
    std::cerr << "ray_store: bad --capacity '" << absl::GetFlag(FLAGS_capacity) << "'\n";
    return 2;
  }
  options.max_objects = absl::GetFlag(FLAGS_max_objects);
  options.huge_pages = absl::GetFlag(FLAGS_huge_pages);
  options.preallocate = absl::GetFlag(FLAGS_preallocate);
  options.max_clients = absl::GetFlag(FLAGS_max_clients);
  if (std::string path = absl::GetFlag(FLAGS_owner_token_file); !path.empty()) {
    std::ifstream file(path, std::ios::binary);
    std::stringstream token;
    token << file.rdbuf();
    if (!file || token.str().empty()) {
      std::cerr << "ray_store: cannot read --owner_token_file '" << path << "'\n";
      return 2;
    }
    options.owner_token = token.str();
  }
  ray::store::ServerOptions server_options;
  server_options.max_sessions_per_connection = absl::GetFlag(FLAGS_max_sessions_per_connection);
  server_options.max_unsent_seals = absl::GetFlag(FLAGS_max_unsent_seals);
  return ray::store::RunStore(options, socket_path, absl::GetFlag(FLAGS_ready_fd), server_options);
}
