// Optional TLS for every cluster connection, with KJ's TLS (OpenSSL underneath). Mutual: each
// end presents a certificate issued by the cluster's CA and checks the other's against it; a
// client also checks the server's name (the host it dialed, or RAY_TLS_SERVER_NAME). The
// configuration is Ray's environment: RAY_USE_TLS=1, RAY_TLS_SERVER_CERT, RAY_TLS_SERVER_KEY,
// RAY_TLS_CA_CERT (PEM files); `ray start --tls-cert/--tls-key/--tls-ca` set them for the node
// and everything it starts.
#pragma once

#include <kj/async-io.h>
#include <kj/compat/tls.h>

#include <memory>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace ray::cluster {

struct TlsFiles {
  std::string cert;         // this process's certificate chain (PEM)
  std::string key;          // its private key (PEM, unencrypted)
  std::string ca;           // the cluster's CA (PEM): peers' certificates must chain to it
  std::string server_name;  // "": check a server against the host dialed
};

// The files RAY_USE_TLS and RAY_TLS_* name; nullopt when RAY_USE_TLS is unset or 0.
// InvalidArgument when TLS is on and a file is not named.
absl::StatusOr<std::optional<TlsFiles>> TlsFilesFromEnv();
// Exports `files` as RAY_USE_TLS and RAY_TLS_* (for the processes this one starts).
void ExportTlsEnv(const TlsFiles& files);

// A loaded configuration. Immutable: threads and event loops share one.
class ClusterTls {
 public:
  // Reads and checks the files; InvalidArgument naming the file that is missing or not PEM.
  static absl::StatusOr<std::shared_ptr<ClusterTls>> Load(const TlsFiles& files);

  kj::Promise<kj::Own<kj::AsyncIoStream>> WrapServer(kj::Own<kj::AsyncIoStream> stream) const;
  // `host`: the host part of the address dialed.
  kj::Promise<kj::Own<kj::AsyncIoStream>> WrapClient(kj::Own<kj::AsyncIoStream> stream,
                                                     const std::string& host) const;

 private:
  ClusterTls(kj::TlsCertificate ca, kj::TlsKeypair keypair, std::string server_name);

  kj::TlsCertificate ca_;
  kj::TlsKeypair keypair_;
  std::string server_name_;
  std::unique_ptr<kj::TlsContext> context_;  // its SSL_CTX is safe to share between threads
};

}  // namespace ray::cluster
