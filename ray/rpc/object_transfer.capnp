@0x9ff9c0504b2a6e30;
# Copying sealed objects between the stores of two nodes: Cap'n Proto RPC over TCP, served by
# ray/object_manager/object_server.h and read by object_puller.h. Before any RPC byte, a
# connection presents the cluster token (ray/cluster/handshake.h); the server's bootstrap
# capability is ObjectTransfer.
#
# Why open() and a reader rather than one stateless read(id, offset, length): the server looks
# the object up and pins it once per transfer, and the pin lasts exactly as long as the
# puller holds the reader (released with it, or with the connection), so the object cannot be
# deleted or evicted between two chunks. The puller pipelines several reads on one reader and
# bounds the bytes it has asked for and not yet received (its flow control).

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ray::rpc::transfer");

interface ObjectTransfer {
  # Looks up a sealed object. If the server's store does not have it sealed, `found` is false,
  # `error` says why and there is no reader.
  open @0 (id :Data) -> (found :Bool, size :UInt64, reader :ObjectReader, error :Text);
}

# One sealed object, pinned in the server's store while this capability lives.
interface ObjectReader {
  # The bytes [offset, offset + length) of the object, cut at its end; at most
  # maxReadBytes per call (a longer read is an error).
  read @0 (offset :UInt64, length :UInt32) -> (data :Data);
}

const maxReadBytes :UInt32 = 16777216;  # 16 MiB
