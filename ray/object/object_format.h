// The object format: the 64-byte header every object starts with, the element kinds of raw
// objects, error objects (what a failed task stores in place of its results), and the header
// writers. What the engine needs to know about objects; how C++ values become objects is the
// API's (ray/api/internal/serialization.h), how Python values do is python_embed's.
#pragma once

#include <bit>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <msgpack.hpp>
#include <span>
#include <string>
#include <string_view>
#include <typeinfo>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "ray/common/stable_hash.h"

namespace ray {

static_assert(std::endian::native == std::endian::little, "raw objects assume little-endian");

// ---------------------------------------------------------------------------------------------
// Object layout

enum class ObjectFormat : uint8_t {
  kMsgpack = 1,
  kRaw = 2,
  kError = 3,
  kPickle = 4,  // added after 1-3; readers that predate it reject it as an unknown format
};

// Element type of a raw object.
enum class ElementKind : uint8_t {
  kNone = 0,      // not a raw object
  kSigned = 1,    // signed integer of elem_size bytes (2, 4, 8)
  kUnsigned = 2,  // unsigned integer of elem_size bytes (2, 4, 8)
  kFloat = 3,     // IEEE float of elem_size bytes (4, 8; 16 = long double)
  kBool = 4,      // bool, one byte
  kText = 5,      // char: std::string, std::string_view, std::vector<char>
  kBytes = 6,     // other one-byte types: uint8_t, int8_t, std::byte, ByteBuffer
  kTrivial = 7,   // opted-in trivially-copyable struct of elem_size bytes; type_hash names it
};

inline constexpr uint32_t kObjectMagic = 0x4f594152;  // the bytes "RAYO"
inline constexpr uint8_t kObjectVersion = 1;
inline constexpr size_t kObjectHeaderSize = 64;
inline constexpr size_t kPayloadAlignment = 64;  // when the object itself is 64-byte aligned

// The first 64 bytes of every object. All fields little-endian; reserved fields are zero.
struct ObjectHeader {
  uint32_t magic;         // kObjectMagic
  uint8_t version;        // kObjectVersion
  uint8_t format;         // ObjectFormat
  uint8_t elem_kind;      // ElementKind (kRaw only, else kNone)
  uint8_t reserved0;      //
  uint32_t elem_size;     // bytes per element (kRaw only, else 0)
  uint32_t reserved1;     //
  uint64_t payload_size;  // bytes after the header; the object is exactly 64 + payload_size
  uint64_t type_hash;     // FNV-1a of a mangled C++ type name: for kTrivial elements the
                          // element type (checked on read); else the writer's type (0: unknown)
  char type_name[32];     // the writer's C++ type, for messages only: NUL-padded, may be cut
};
static_assert(sizeof(ObjectHeader) == kObjectHeaderSize);
static_assert(std::is_trivially_copyable_v<ObjectHeader>);

// Reads and checks the header: size, magic, version, format, that the object is exactly
// 64 + payload_size bytes, and for raw objects the element size. DataLoss otherwise.
absl::StatusOr<ObjectHeader> ReadHeader(std::span<const uint8_t> bytes);

// A short description of an object for messages, e.g. "raw float64[1000] (std::vector<double>)",
// "msgpack array[3] of str (std::vector<std::string>)", "error object (...)", or why the bytes
// are not an object.
std::string DescribeObject(std::span<const uint8_t> bytes);

// A readable name of a C++ type: demangled, default template arguments dropped
// ("std::vector<std::string>", "std::map<int, double>").
std::string DemangleTypeName(const char* mangled);
template <typename T>
const std::string& TypeName() {
  static const std::string* const name = new std::string(DemangleTypeName(typeid(T).name()));
  return *name;
}

inline std::span<const uint8_t> AsBytes(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

struct ElementType {
  ElementKind kind;
  uint32_t size;
  uint64_t type_hash;
};

// FNV-1a of T's mangled name: the header's type_hash.
template <typename T>
uint64_t TypeHash() {
  static const uint64_t hash = Fnv1aHash(typeid(T).name());
  return hash;
}

namespace internal {

// A caller's bug (an output smaller than it said): prints `message` and aborts.
[[noreturn]] void SerializationFatal(const std::string& message);

// Writes a header; `type_name` is cut to fit (ending in "...").
void WriteHeaderFields(uint8_t* out, ObjectFormat format, ElementType elem, uint64_t payload_size,
                       uint64_t type_hash, std::string_view type_name);

template <typename T>
void WriteHeader(uint8_t* out, ObjectFormat format, ElementType elem, uint64_t payload_size) {
  WriteHeaderFields(out, format, elem, payload_size,
                    elem.kind == ElementKind::kTrivial ? elem.type_hash : TypeHash<T>(),
                    TypeName<T>());
}

// The errors of reads (InvalidArgument for the wrong type, naming what the object holds;
// Aborted with the task error for an error object).
absl::Status WrongTypeError(std::span<const uint8_t> bytes, const std::string& wanted,
                            std::string_view detail);
absl::Status RawElementMismatch(std::span<const uint8_t> bytes, const ObjectHeader& header,
                                const std::string& wanted);
absl::Status ErrorObjectStatus(std::span<const uint8_t> bytes);

}  // namespace internal

// Writes the header of an object whose payload another language wrote (a msgpack value or a
// pickle from Python): no element type, no type hash, `type_name` for messages (cut to fit).
inline void WriteForeignHeader(std::span<uint8_t> out, ObjectFormat format, uint64_t payload_size,
                               std::string_view type_name) {
  if (out.size() < kObjectHeaderSize) {
    internal::SerializationFatal("WriteForeignHeader: output smaller than the object header");
  }
  internal::WriteHeaderFields(out.data(), format, {ElementKind::kNone, 0, 0}, payload_size, 0,
                              type_name);
}

// What is stored about a task that threw, in place of its result.
struct TaskErrorInfo {
  std::string function_name;   // the remote function ("add", or module+offset if unnamed)
  std::string exception_type;  // demangled type of what was thrown ("std::runtime_error")
  std::string message;         // what()
  std::string task_id;         // hex of the failed task's ID
  int64_t pid = 0;             // the worker process
  std::string node;            // node (host) name or ID; may be empty on a single node
  std::string traceback;       // where it was raised (Python tasks' traceback); may be empty.
                               // Added later: absent from older objects, ignored by older readers
  // Python tasks: the exception itself, pickled (cloudpickle), when it could be; any bytes.
  // Added later, as `traceback`.
  std::string exception_pickle;

  // "std::runtime_error in add (task 1a2b..., pid 123): boom"
  std::string ToString() const;
  friend bool operator==(const TaskErrorInfo&, const TaskErrorInfo&) = default;
  MSGPACK_DEFINE_MAP(function_name, exception_type, message, task_id, pid, node, traceback,
                     exception_pickle);
};

// ---------------------------------------------------------------------------------------------
// Error objects

size_t SerializedErrorSize(const TaskErrorInfo& info);
size_t SerializeErrorInto(const TaskErrorInfo& info, std::span<uint8_t> out);
std::string SerializeError(const TaskErrorInfo& info);
// True if `bytes` is a well-formed object header of an error object.
bool IsError(std::span<const uint8_t> bytes);
// InvalidArgument if the object is not an error object, DataLoss if malformed.
absl::StatusOr<TaskErrorInfo> DeserializeError(std::span<const uint8_t> bytes);

}  // namespace ray
