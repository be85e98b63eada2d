// A connection to the cluster head, for a node, a driver or the `ray` CLI: connects over TCP,
// presents the token, and then registers a node (and heartbeats for it), reads the node table,
// or ships programs (uploads a driver's, fetches one into a machine's cache). The connection
// lives on a thread of its own with its KJ event loop; the calls block.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "ray/cluster/actor_host_address.h"
#include "ray/cluster/cluster_stream.h"
#include "ray/cluster/node_table.h"
#include "ray/cluster/program_cache.h"
#include "ray/cluster/program_image.h"
#include "ray/cluster/version.h"

namespace ray::cluster {

struct JoinOptions {
  absl::Duration heartbeat_period = absl::Seconds(1);
  // A heartbeat unanswered this long: the head is held lost.
  absl::Duration lost_after = absl::Seconds(5);
  // The store's bytes in use, sent with each heartbeat (called on the client's thread).
  std::function<uint64_t()> store_used;
  // A driver's: what its tasks hold on each node, sent with each heartbeat (its thread too).
  std::function<std::vector<NodeUsage>()> usage;
  // Called once, on the client's thread, when the head is lost (the connection ended or a
  // heartbeat failed or went unanswered), with why. Unset: why is printed to stderr.
  std::function<void(const std::string&)> on_lost;
  // What the node says it runs (tests change them to see a mismatch refused).
  uint32_t protocol_version = kProtocolVersion;
  std::string library_version = kLibraryVersion;
};

class HeadClient {
 public:
  // Connects to `address` (HOST:PORT) and opens the connection with `credentials`.
  // Unavailable if the head cannot be reached within `timeout`; PermissionDenied if it refuses
  // the token or the TLS handshake fails (ConnectCluster).
  static absl::StatusOr<std::unique_ptr<HeadClient>> Connect(
      const std::string& address, const Credentials& credentials,
      absl::Duration timeout = absl::Seconds(5));
  // Closes the connection (the head then holds a node registered through it dead).
  ~HeadClient();

  // Registers `node` and heartbeats for it until this client is destroyed or the head is lost.
  // FailedPrecondition with the head's reason if refused (versions, a node ID already known).
  absl::Status Join(const NodeEntry& node, JoinOptions options = {});
  // The head's node table.
  absl::StatusOr<std::vector<NodeEntry>> Nodes();
  // Gives the head the files of `image` (CurrentProgram()) that it lacks, and records the
  // program under image.key. One round trip when the head has them all. FailedPrecondition if
  // the head refuses the program or a file (a key that is not its bytes', a head without a
  // program folder, its bound on bytes); Unavailable if the connection fails; a file's read
  // error as it is.
  absl::Status UploadProgram(const ProgramImage& image);
  // The program `program_key` in the cache at `cache_dir` (made if absent), fetched from the
  // head if it is not there yet: then each file the cache lacks is read in chunks, checked
  // against its key, and the program's key against its manifest. A cached program is served
  // without asking the head. NotFound if the head has no such program; DataLoss if what it
  // sends is not what the keys name; Unavailable if the connection fails.
  absl::StatusOr<LocalProgram> FetchProgram(const std::string& program_key,
                                            const std::string& cache_dir);

  // The live actor host of the program `program_key` (shipped with UploadProgram), which the
  // head starts with `argv` and `env` if it has none (and `start`); blocks until the host
  // registered (seconds). NotFound if there is none and not `start`; Unavailable with the head's
  // reason if it has none to give (the host could not start: the launcher's reason; a program it
  // lacks; a head that starts no hosts) or the connection failed.
  absl::StatusOr<ActorHostAddress> ActorHost(const std::string& program_key,
                                             const std::string& host_key,
                                             const std::vector<std::string>& argv,
                                             const std::vector<std::string>& env,
                                             bool start = true);
  // Registers the node this client joined (Join first) as the actor host of `host_key`, serving
  // at `host`; the head forgets it when the node is dead. FailedPrecondition if the head refuses
  // (another live host of that key).
  absl::Status RegisterActorHost(const std::string& host_key, const ActorHostAddress& host);

  // This end's IP address on the connection (how the head's network sees this machine).
  const std::string& local_ip() const { return local_ip_; }

  struct State;  // head_client.cc

 private:
  HeadClient();
  std::unique_ptr<State> state_;
  std::string local_ip_;
};

}  // namespace ray::cluster
