#include "ray/cluster/tls.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace ray::cluster {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value == nullptr ? "" : value;
}

absl::StatusOr<std::string> ReadPem(const std::string& what, const std::string& path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  if (!file)
    return absl::InvalidArgumentError(absl::StrCat("cannot read the TLS ", what, " ", path));
  if (text.str().find("-----BEGIN ") == std::string::npos) {
    return absl::InvalidArgumentError(absl::StrCat("the TLS ", what, " ", path, " is not PEM"));
  }
  return text.str();
}

}  // namespace

absl::StatusOr<std::optional<TlsFiles>> TlsFilesFromEnv() {
  const std::string use = Env("RAY_USE_TLS");
  if (use.empty() || use == "0" || use == "false") return std::nullopt;
  TlsFiles files{.cert = Env("RAY_TLS_SERVER_CERT"),
                 .key = Env("RAY_TLS_SERVER_KEY"),
                 .ca = Env("RAY_TLS_CA_CERT"),
                 .server_name = Env("RAY_TLS_SERVER_NAME")};
  if (files.cert.empty() || files.key.empty() || files.ca.empty()) {
    return absl::InvalidArgumentError(
        "RAY_USE_TLS=1 needs RAY_TLS_SERVER_CERT, RAY_TLS_SERVER_KEY and RAY_TLS_CA_CERT (PEM "
        "files)");
  }
  return files;
}

void ExportTlsEnv(const TlsFiles& files) {
  setenv("RAY_USE_TLS", "1", 1);
  setenv("RAY_TLS_SERVER_CERT", files.cert.c_str(), 1);
  setenv("RAY_TLS_SERVER_KEY", files.key.c_str(), 1);
  setenv("RAY_TLS_CA_CERT", files.ca.c_str(), 1);
  if (!files.server_name.empty()) setenv("RAY_TLS_SERVER_NAME", files.server_name.c_str(), 1);
}

absl::StatusOr<std::shared_ptr<ClusterTls>> ClusterTls::Load(const TlsFiles& files) {
  auto cert = ReadPem("certificate", files.cert);
  if (!cert.ok()) return cert.status();
  auto key = ReadPem("key", files.key);
  if (!key.ok()) return key.status();
  auto ca = ReadPem("CA certificate", files.ca);
  if (!ca.ok()) return ca.status();
  std::shared_ptr<ClusterTls> tls;
  KJ_IF_MAYBE (e, kj::runCatchingExceptions([&] {
                 tls.reset(new ClusterTls(
                     kj::TlsCertificate(kj::StringPtr(ca->c_str())),
                     kj::TlsKeypair{kj::TlsPrivateKey(kj::StringPtr(key->c_str())),
                                    kj::TlsCertificate(kj::StringPtr(cert->c_str()))},
                     files.server_name));
               })) {
    return absl::InvalidArgumentError(absl::StrCat("cannot use the TLS files ", files.cert, ", ",
                                                   files.key, ", ", files.ca, ": ",
                                                   e->getDescription().cStr()));
  }
  return tls;
}

ClusterTls::ClusterTls(kj::TlsCertificate ca, kj::TlsKeypair keypair, std::string server_name)
    : ca_(kj::mv(ca)), keypair_(kj::mv(keypair)), server_name_(std::move(server_name)) {
  kj::TlsContext::Options options;
  options.useSystemTrustStore = false;
  options.verifyClients = true;
  options.trustedCertificates = kj::arrayPtr(&ca_, 1);
  options.defaultKeypair = keypair_;
  context_ = std::make_unique<kj::TlsContext>(kj::mv(options));
}

kj::Promise<kj::Own<kj::AsyncIoStream>> ClusterTls::WrapServer(
    kj::Own<kj::AsyncIoStream> stream) const {
  return context_->wrapServer(kj::mv(stream));
}

kj::Promise<kj::Own<kj::AsyncIoStream>> ClusterTls::WrapClient(kj::Own<kj::AsyncIoStream> stream,
                                                               const std::string& host) const {
  // KJ matches the name as a DNS name (Cap'n Proto 0.9 does not match IP address entries): a
  // certificate for an address lists it as a DNS entry too (docs/CLUSTER.md, TLS).
  kj::String name = kj::heapString(server_name_.empty() ? host : server_name_);
  return context_->wrapClient(kj::mv(stream), name).attach(kj::mv(name));
}

}  // namespace ray::cluster
