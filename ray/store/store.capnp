@0xc4b1f5d2a3e6f701;
# The object store's wire protocol (Cap'n Proto RPC over the store's unix socket).
# Object IDs travel as 24-byte Data. Sizes and offsets are bytes into the shared arena.

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("ray::store::rpc");

enum Code {
  ok @0;
  objectExists @1;       # an object with this ID is already in the store
  objectStoreFull @2;    # no room even after evicting every unpinned object
  notFound @3;           # no such object (or not sealed before the timeout)
  notSealed @4;          # the operation needs a sealed object
  sealed @5;             # the operation needs an unsealed object
  notPermitted @6;       # only an object's creator may seal or abort it; only it or the
                         # store's owner may delete an object that is not evictable
  invalidArgument @7;    # malformed ID, size out of range, ...
}

struct Status {
  code @0 :Code;
  message @1 :Text;
}

# Where an object lives; `record` names its slot in the shared index (and pin arrays).
struct Location {
  record @0 :UInt32;
  offset @1 :UInt64;
  size @2 :UInt64;
}

struct SmallObject {
  id @0 :Data;
  data @1 :Data;
  evictable @2 :Bool;  # see Session.create
}

struct Failure {
  id @0 :Data;
  status @1 :Status;
}

# A shared-memory file. Its descriptor comes with the capability (fd passing).
interface SharedFile {
  size @0 () -> (size :UInt64);
}

interface SealListener {
  sealed @0 (ids :List(Data)) -> stream;
}

# The bootstrap capability.
interface ObjectStore {
  # `ownerToken`: the secret the store was started with (empty: none) makes this session the
  # store's owner, who may delete any object (the node's reference counter). A wrong token is
  # refused.
  connect @0 (clientName :Text, ownerToken :Data) -> (session :Session);
}

# One client's connection. Dropping it (or the connection) releases the client's pins and
# aborts the objects it created but did not seal.
interface Session {
  # The arena (objects), the index (read-only view of the object table) and this client's pin
  # array, each as a SharedFile carrying its descriptor.
  memory @0 () -> (arena :SharedFile, index :SharedFile, pins :SharedFile, capacity :UInt64);

  # Reserves `size` bytes for a new object; the caller writes them and seals. The creator
  # holds one pin on the object until it releases it. An object that is not `evictable` stays
  # until its creator or the owner deletes it: when the store is full of such objects, a
  # create fails with objectStoreFull. Evictable ones (caches) go least recently used first.
  create @1 (id :Data, size :UInt64, evictable :Bool) -> (status :Status, location :Location);

  # Ordered batch of cheap operations the client sends without waiting: objects to store
  # and seal at once (no pin kept), objects this client created to seal, and records whose
  # last pin this client released while a delete was pending.
  apply @2 (puts :List(SmallObject), seals :List(Data), released :List(UInt32))
      -> (failures :List(Failure));

  # Waits until every object exists and is sealed, or `timeoutMs` passes (negative: forever).
  # Each object found is pinned for this client. `statuses[i]` is ok, notFound (not in the
  # store), notSealed (created, not sealed in time) or objectStoreFull (could not be stored).
  # With `failAbsent`, an object not in the store fails at once (and one whose creator aborts
  # it, when that happens): only created objects are waited for.
  get @3 (ids :List(Data), timeoutMs :Int64, failAbsent :Bool)
      -> (locations :List(Location), statuses :List(Status));

  contains @4 (id :Data) -> (sealed :Bool);

  # Deletes objects now if nobody pins them, else as soon as the last pin goes. An object
  # that is not evictable may be deleted only by its creator or the owner (notPermitted).
  delete @5 (ids :List(Data)) -> (failures :List(Failure));

  # Frees an object this client created and has not sealed.
  abort @6 (id :Data) -> (status :Status);

  # Streams the IDs of objects as they are sealed (for the scheduler).
  subscribe @7 (listener :SealListener) -> ();

  stats @8 () -> (capacity :UInt64, used :UInt64, objects :UInt32, evictions :UInt64);
}
