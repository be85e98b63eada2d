// The first bytes of every cluster connection: the client presents the cluster token, the
// head answers one byte if it is right and closes the connection otherwise. Only then does
// Cap'n Proto RPC start on the stream. Wire: "RAYT", the token's length (uint32, little
// endian), the token; the answer is 'K'.
#pragma once

#include <kj/async-io.h>

#include <string>
#include <string_view>

namespace ray::cluster {

inline constexpr size_t kMaxTokenBytes = 1024;

// "HOST:PORT" of the other end of a connection, for log lines ("an unknown peer" if unknown).
std::string PeerName(kj::AsyncIoStream& stream);

// Equal, in time that depends on the lengths only.
bool TokensEqual(std::string_view a, std::string_view b);

// Head side: reads and checks the token, and acknowledges it. Resolves to "" when accepted,
// else to why the connection is to be closed (never quoting the token).
kj::Promise<std::string> AcceptToken(kj::AsyncIoStream& stream, std::string expected);

// Client side: presents `token` and waits for the answer. Resolves to false if the head closed
// the connection instead (a wrong token).
kj::Promise<bool> PresentToken(kj::AsyncIoStream& stream, std::string token);

// The wire, for plain sockets (token_socket.h): what a client sends, the header's length (8)
// and what it says (the token's length, or an error saying why it is refused), and the answer.
std::string TokenGreeting(std::string_view token);
inline constexpr size_t kGreetingHeaderBytes = 8;
// "" and `length` set when the header is well formed; else why the connection is refused.
std::string ReadGreetingHeader(const unsigned char* header, uint32_t& length);
inline constexpr unsigned char kTokenAccepted = 'K';

}  // namespace ray::cluster
