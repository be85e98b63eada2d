// The first bytes of every cluster connection (inside TLS when the cluster uses it;
// cluster_stream.h): the client presents the cluster token, the server answers one byte if it
// is right and closes the connection otherwise. Only then does the connection's protocol start.
// Wire: "RAYT", the token's length (uint32, little endian), the token; the answer is 'K'. A
// server that requires TLS answers a plain "RAYT" with 'T' and closes.
#pragma once

#include <kj/async-io.h>

#include <string>
#include <string_view>

namespace ray::cluster {

// "HOST:PORT" of the other end of a connection, for log lines ("an unknown peer" if unknown).
std::string PeerName(kj::AsyncIoStream& stream);

// Equal, in time that depends on the lengths only.
bool TokensEqual(std::string_view a, std::string_view b);

// Head side: reads and checks the token, and acknowledges it. Resolves to "" when accepted,
// else to why the connection is to be closed (never quoting the token).
kj::Promise<std::string> AcceptToken(kj::AsyncIoStream& stream, std::string expected);

enum class TokenAnswer { kAccepted, kRefused, kTlsRequired };
// Client side: presents `token` and waits for the answer. kRefused: the server closed the
// connection instead (a wrong token).
kj::Promise<TokenAnswer> PresentToken(kj::AsyncIoStream& stream, std::string token);

// The answers, and the greeting's first byte (cluster_stream.h tells a plain client from a TLS
// one by it).
inline constexpr unsigned char kTokenAccepted = 'K';
inline constexpr unsigned char kTlsRequired = 'T';
inline constexpr unsigned char kGreetingFirstByte = 'R';

}  // namespace ray::cluster
