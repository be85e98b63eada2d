@0x83e9b5bbf032b283;
# Requests from a driver to its zygote, and the zygote's replies, over a SOCK_SEQPACKET
# socketpair: one message per packet, in Cap'n Proto's flat framing (zygote_messages.h). The
# descriptor a request's child serves (its socket) comes with the request as SCM_RIGHTS; the
# child's pidfd comes with the reply the same way.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ray::core::rpc");

enum ProcessKind {
  store @0;
  worker @1;
}

struct SpawnRequest {
  kind @0 :ProcessKind;
}

struct SpawnReply {
  pid @0 :Int32;  # the child's pid; -1: the zygote could not fork it
}
