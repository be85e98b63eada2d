#include "ray/cluster/handshake.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <cstring>

namespace ray::cluster {
namespace {

constexpr size_t kMaxTokenBytes = 1024;
constexpr size_t kGreetingHeaderBytes = 8;  // "RAYT" and the token's length
constexpr char kMagic[4] = {kGreetingFirstByte, 'A', 'Y', 'T'};
constexpr kj::byte kAccepted = kTokenAccepted;

// What a client sends.
std::string TokenGreeting(std::string_view token) {
  std::string message(kMagic, sizeof(kMagic));
  uint32_t length = token.size();
  for (int i = 0; i < 4; ++i) message.push_back(static_cast<char>(length >> (8 * i)));
  message.append(token);
  return message;
}

// "" and `length` set when the header is well formed; else why the connection is refused.
std::string ReadGreetingHeader(const unsigned char* header, uint32_t& length) {
  if (header[0] == 0x16 && header[1] == 0x03) {  // a TLS handshake record
    return "a TLS client, but this cluster does not use TLS";
  }
  if (std::memcmp(header, kMagic, sizeof(kMagic)) != 0) {
    return "no cluster token (not a ray cluster client, or garbage)";
  }
  length = header[4] | header[5] << 8 | header[6] << 16 | uint32_t(header[7]) << 24;
  if (length == 0 || length > kMaxTokenBytes) return "malformed cluster token";
  return "";
}

}  // namespace

std::string PeerName(kj::AsyncIoStream& stream) {
  sockaddr_storage address{};
  kj::uint length = sizeof(address);
  char host[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  try {
    stream.getpeername(reinterpret_cast<sockaddr*>(&address), &length);
  } catch (...) {
    return "an unknown peer";
  }
  if (address.ss_family == AF_INET) {
    auto* in = reinterpret_cast<sockaddr_in*>(&address);
    inet_ntop(AF_INET, &in->sin_addr, host, sizeof(host));
    port = ntohs(in->sin_port);
  } else if (address.ss_family == AF_INET6) {
    auto* in = reinterpret_cast<sockaddr_in6*>(&address);
    inet_ntop(AF_INET6, &in->sin6_addr, host, sizeof(host));
    port = ntohs(in->sin6_port);
  }
  return std::string(host) + ":" + std::to_string(port);
}

bool TokensEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < a.size(); ++i) diff |= a[i] ^ b[i];
  return diff == 0;
}

kj::Promise<std::string> AcceptToken(kj::AsyncIoStream& stream, std::string expected) {
  auto header = kj::heapArray<kj::byte>(kGreetingHeaderBytes);
  auto read = stream.tryRead(header.begin(), header.size(), header.size());
  return read.then([&stream, header = kj::mv(header),
                    expected = std::move(expected)](size_t n) mutable -> kj::Promise<std::string> {
    if (n < header.size()) return std::string("closed before presenting a token");
    uint32_t length = 0;
    if (std::string why = ReadGreetingHeader(header.begin(), length); !why.empty()) return why;
    auto token = kj::heapArray<kj::byte>(length);
    auto body = stream.tryRead(token.begin(), length, length);
    return body.then([&stream, token = kj::mv(token),
                      expected = std::move(expected)](size_t n) -> kj::Promise<std::string> {
      std::string_view presented(reinterpret_cast<const char*>(token.begin()), n);
      if (n < token.size() || !TokensEqual(presented, expected)) {
        return std::string("wrong cluster token");
      }
      return stream.write(&kAccepted, 1).then([] { return std::string(); });
    });
  });
}

kj::Promise<TokenAnswer> PresentToken(kj::AsyncIoStream& stream, std::string token) {
  std::string greeting = TokenGreeting(token);
  auto message = kj::heapString(greeting.data(), greeting.size());
  auto sent = stream.write(message.begin(), message.size()).attach(kj::mv(message));
  return sent.then([&stream] {
    auto answer = kj::heapArray<kj::byte>(1);
    auto read = stream.tryRead(answer.begin(), 1, 1);
    return read.then([answer = kj::mv(answer)](size_t n) {
      if (n == 1 && answer[0] == kAccepted) return TokenAnswer::kAccepted;
      if (n == 1 && answer[0] == kTlsRequired) return TokenAnswer::kTlsRequired;
      return TokenAnswer::kRefused;
    });
  });
}

}  // namespace ray::cluster
