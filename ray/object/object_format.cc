#include <cxxabi.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "ray/object/msgpack_object.h"

namespace ray {
namespace {

constexpr size_t kFormatOffset = offsetof(ObjectHeader, format);

// Debian's Abseil has its own string_view, distinct from std::string_view.
absl::string_view Absl(std::string_view s) { return absl::string_view(s.data(), s.size()); }

std::string ElementName(ElementKind kind, uint32_t size) {
  switch (kind) {
    case ElementKind::kSigned:
      return absl::StrCat("int", 8 * size);
    case ElementKind::kUnsigned:
      return absl::StrCat("uint", 8 * size);
    case ElementKind::kFloat:
      return absl::StrCat("float", 8 * size);
    case ElementKind::kBool:
      return "bool";
    case ElementKind::kText:
      return "char";
    case ElementKind::kBytes:
      return "byte";
    case ElementKind::kTrivial:
      return absl::StrCat("struct(", size, " bytes)");
    case ElementKind::kNone:
      break;
  }
  return "?";
}

std::string WriterSuffix(const ObjectHeader& h) {
  std::string name(h.type_name, strnlen(h.type_name, sizeof(h.type_name)));
  // The name is for messages only; keep it printable whatever the bytes say.
  for (char& c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) > 0x7e) c = '?';
  }
  return name.empty() ? "" : absl::StrCat(" (written as ", name, ")");
}

std::string DescribeMsgpack(const msgpack::object& o, int depth, bool top) {
  switch (o.type) {
    case msgpack::type::NIL:
      return "nil";
    case msgpack::type::BOOLEAN:
      return top ? absl::StrCat("bool ", o.via.boolean ? "true" : "false") : "bool";
    case msgpack::type::POSITIVE_INTEGER:
      return top ? absl::StrCat("integer ", o.via.u64) : "integer";
    case msgpack::type::NEGATIVE_INTEGER:
      return top ? absl::StrCat("integer ", o.via.i64) : "integer";
    case msgpack::type::FLOAT32:
      return top ? absl::StrCat("float32 ", o.via.f64) : "float32";
    case msgpack::type::FLOAT64:
      return top ? absl::StrCat("float64 ", o.via.f64) : "float64";
    case msgpack::type::STR:
      return absl::StrCat("str[", o.via.str.size, "]");
    case msgpack::type::BIN:
      return absl::StrCat("bin[", o.via.bin.size, "]");
    case msgpack::type::EXT:
      return absl::StrCat("ext[", o.via.ext.size, "]");
    case msgpack::type::ARRAY: {
      std::string s = absl::StrCat("array[", o.via.array.size, "]");
      if (o.via.array.size > 0 && depth > 0) {
        absl::StrAppend(&s, " of ", DescribeMsgpack(o.via.array.ptr[0], depth - 1, false));
      }
      return s;
    }
    case msgpack::type::MAP: {
      std::string s = absl::StrCat("map[", o.via.map.size, "]");
      if (o.via.map.size > 0 && depth > 0) {
        absl::StrAppend(&s, " of ", DescribeMsgpack(o.via.map.ptr[0].key, depth - 1, false), " -> ",
                        DescribeMsgpack(o.via.map.ptr[0].val, depth - 1, false));
      }
      return s;
    }
  }
  return "unknown";
}

// Removes ", name<...>" (a defaulted template argument) everywhere in `s`.
void DropTemplateArgument(std::string& s, std::string_view name) {
  const std::string needle = absl::StrCat(", ", Absl(name), "<");
  for (size_t pos = s.find(needle); pos != std::string::npos; pos = s.find(needle, pos)) {
    size_t i = pos + needle.size();
    int open = 1;
    while (i < s.size() && open > 0) {
      if (s[i] == '<') ++open;
      if (s[i] == '>') --open;
      ++i;
    }
    if (open != 0) return;  // unbalanced: leave the rest alone
    s.erase(pos, i - pos);
  }
}

}  // namespace

std::string DemangleTypeName(const char* mangled) {
  int status = 0;
  char* demangled = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = status == 0 && demangled != nullptr ? demangled : mangled;
  std::free(demangled);
  name = absl::StrReplaceAll(name, {{"std::__cxx11::", "std::"}});
  for (std::string_view arg : {"std::char_traits", "std::allocator", "std::less", "std::hash",
                               "std::equal_to", "std::default_delete"}) {
    DropTemplateArgument(name, arg);
  }
  name = absl::StrReplaceAll(name, {{" >", ">"}, {", 18446744073709551615ul>", ">"}});
  name = absl::StrReplaceAll(name, {{"std::basic_string<char>", "std::string"},
                                    {"std::basic_string_view<char>", "std::string_view"}});
  return name;
}

absl::StatusOr<ObjectHeader> ReadHeader(std::span<const uint8_t> bytes) {
  if (bytes.size() < kObjectHeaderSize) {
    return absl::DataLossError(absl::StrCat("not an object: ", bytes.size(),
                                            " bytes, shorter than the ", kObjectHeaderSize,
                                            "-byte header"));
  }
  ObjectHeader h;
  std::memcpy(&h, bytes.data(), sizeof(h));
  if (h.magic != kObjectMagic) return absl::DataLossError("not an object: bad magic number");
  if (h.version != kObjectVersion) {
    return absl::DataLossError(absl::StrCat("object format version ", h.version,
                                            ", this build reads version ", kObjectVersion));
  }
  const size_t payload = bytes.size() - kObjectHeaderSize;
  if (h.payload_size != payload) {
    return absl::DataLossError(absl::StrCat("object of ", bytes.size(), " bytes, its header says ",
                                            kObjectHeaderSize, " + ", h.payload_size,
                                            " (truncated or corrupt)"));
  }
  switch (static_cast<ObjectFormat>(h.format)) {
    case ObjectFormat::kMsgpack:
    case ObjectFormat::kError:
    case ObjectFormat::kPickle:
      return h;
    case ObjectFormat::kRaw: {
      const auto kind = static_cast<ElementKind>(h.elem_kind);
      bool size_ok = false;
      switch (kind) {
        case ElementKind::kSigned:
        case ElementKind::kUnsigned:
          size_ok = h.elem_size == 2 || h.elem_size == 4 || h.elem_size == 8 || h.elem_size == 16;
          break;
        case ElementKind::kFloat:
          size_ok = h.elem_size == 4 || h.elem_size == 8 || h.elem_size == 16;
          break;
        case ElementKind::kBool:
        case ElementKind::kText:
        case ElementKind::kBytes:
          size_ok = h.elem_size == 1;
          break;
        case ElementKind::kTrivial:
          size_ok = h.elem_size > 0;
          break;
        case ElementKind::kNone:
          break;
      }
      if (!size_ok) {
        return absl::DataLossError(
            absl::StrCat("raw object with element kind ", h.elem_kind, " of size ", h.elem_size));
      }
      if (payload % h.elem_size != 0) {
        return absl::DataLossError(absl::StrCat(
            "raw object of ", payload, " bytes, not a multiple of the element size ", h.elem_size));
      }
      return h;
    }
  }
  return absl::DataLossError(absl::StrCat("unknown object format ", h.format));
}

std::string DescribeObject(std::span<const uint8_t> bytes) {
  absl::StatusOr<ObjectHeader> h = ReadHeader(bytes);
  if (!h.ok()) return absl::StrCat("malformed object (", h.status().message(), ")");
  std::span<const uint8_t> payload = bytes.subspan(kObjectHeaderSize);
  switch (static_cast<ObjectFormat>(h->format)) {
    case ObjectFormat::kRaw:
      return absl::StrCat("raw ", ElementName(static_cast<ElementKind>(h->elem_kind), h->elem_size),
                          "[", h->payload_size / h->elem_size, "]", WriterSuffix(*h));
    case ObjectFormat::kMsgpack: {
      if (absl::Status s = internal::MalformedMsgpack(payload); !s.ok()) {
        return absl::StrCat("malformed msgpack (", s.message(), ")");
      }
      try {
        const size_t n = payload.size();
        msgpack::unpack_limit limit(n, n, n, n, n, internal::kMaxMsgpackDepth);
        msgpack::object_handle handle =
            msgpack::unpack(reinterpret_cast<const char*>(payload.data()), n,
                            &internal::ReferenceAll, nullptr, limit);
        return absl::StrCat("msgpack ", DescribeMsgpack(handle.get(), 2, true), WriterSuffix(*h));
      } catch (const std::exception& e) {
        return absl::StrCat("malformed msgpack (", e.what(), ")");
      }
    }
    case ObjectFormat::kError: {
      absl::StatusOr<TaskErrorInfo> info = DeserializeError(bytes);
      if (!info.ok()) return absl::StrCat("malformed error object (", info.status().message(), ")");
      return absl::StrCat("error object (", info->ToString(), ")");
    }
    case ObjectFormat::kPickle:
      return absl::StrCat("pickle of ", h->payload_size, " bytes", WriterSuffix(*h));
  }
  return "unknown object";
}

std::string TaskErrorInfo::ToString() const {
  std::string s = absl::StrCat(exception_type.empty() ? "error" : exception_type, " in ",
                               function_name.empty() ? "?" : function_name, " (task ",
                               task_id.empty() ? "?" : task_id, ", pid ", pid);
  if (!node.empty()) absl::StrAppend(&s, ", node ", node);
  absl::StrAppend(&s, "): ", message);
  return s;
}

size_t SerializedErrorSize(const TaskErrorInfo& info) { return SerializedMsgpackSize(info); }

size_t SerializeErrorInto(const TaskErrorInfo& info, std::span<uint8_t> out) {
  const size_t n = SerializeMsgpackInto(info, out);
  out[kFormatOffset] = static_cast<uint8_t>(ObjectFormat::kError);
  return n;
}

std::string SerializeError(const TaskErrorInfo& info) {
  std::string out(SerializedErrorSize(info), '\0');
  SerializeErrorInto(info, std::span<uint8_t>(reinterpret_cast<uint8_t*>(out.data()), out.size()));
  return out;
}

bool IsError(std::span<const uint8_t> bytes) {
  absl::StatusOr<ObjectHeader> h = ReadHeader(bytes);
  return h.ok() && h->format == static_cast<uint8_t>(ObjectFormat::kError);
}

absl::StatusOr<TaskErrorInfo> DeserializeError(std::span<const uint8_t> bytes) {
  absl::StatusOr<ObjectHeader> h = ReadHeader(bytes);
  if (!h.ok()) return h.status();
  if (h->format != static_cast<uint8_t>(ObjectFormat::kError)) {
    return absl::InvalidArgumentError(absl::StrCat("not an error object: ", DescribeObject(bytes)));
  }
  std::span<const uint8_t> payload = bytes.subspan(kObjectHeaderSize);
  if (absl::Status s = internal::MalformedMsgpack(payload); !s.ok()) return s;
  try {
    const size_t n = payload.size();
    msgpack::unpack_limit limit(n, n, n, n, n, internal::kMaxMsgpackDepth);
    msgpack::object_handle handle = msgpack::unpack(reinterpret_cast<const char*>(payload.data()),
                                                    n, &internal::ReferenceAll, nullptr, limit);
    return handle.get().as<TaskErrorInfo>();
  } catch (const std::exception& e) {
    return absl::DataLossError(absl::StrCat("malformed error object: ", e.what()));
  }
}

namespace internal {

void WriteHeaderFields(uint8_t* out, ObjectFormat format, ElementType elem, uint64_t payload_size,
                       uint64_t type_hash, std::string_view type_name) {
  ObjectHeader h{};
  h.magic = kObjectMagic;
  h.version = kObjectVersion;
  h.format = static_cast<uint8_t>(format);
  h.elem_kind = static_cast<uint8_t>(elem.kind);
  h.elem_size = elem.size;
  h.payload_size = payload_size;
  h.type_hash = type_hash;
  if (type_name.size() < sizeof(h.type_name)) {
    std::memcpy(h.type_name, type_name.data(), type_name.size());
  } else {  // cut, and say so
    std::memcpy(h.type_name, type_name.data(), sizeof(h.type_name) - 4);
    std::memcpy(h.type_name + sizeof(h.type_name) - 4, "...", 3);
  }
  std::memcpy(out, &h, sizeof(h));
}

void SerializationFatal(const std::string& message) {
  std::fprintf(stderr, "FATAL (ray serialization): %s\n", message.c_str());
  std::fflush(stderr);
  std::abort();
}

// Checks that `p` is exactly one well-formed msgpack value, walking it without allocating per
// element. Besides truncation and reserved bytes it refuses containers that declare more
// elements than there are bytes left (every element takes at least one byte): msgpack's unpacker
// allocates a container's elements before reading them, and a 5-byte garbage header can claim
// four billion.
absl::Status MalformedMsgpack(std::span<const uint8_t> p) {
  const size_t n = p.size();
  size_t pos = 0;
  uint64_t pending = 1;        // values still to read, over all open containers
  std::vector<uint64_t> open;  // values left in each open container, innermost last
  auto truncated = [&](size_t at) {
    return absl::DataLossError(
        absl::StrCat("malformed msgpack: truncated at byte ", at, " of ", n));
  };
  auto length = [&](size_t width, uint64_t* out) {
    if (n - pos < width) return false;
    switch (width) {
      case 1:
        *out = p[pos];
        break;
      case 2:
        *out = LoadBigEndian<uint16_t>(&p[pos]);
        break;
      default:
        *out = LoadBigEndian<uint32_t>(&p[pos]);
        break;
    }
    pos += width;
    return true;
  };
  while (pending > 0) {
    if (pos >= n) return truncated(pos);
    const size_t start = pos;
    const uint8_t b = p[pos++];
    --pending;
    if (!open.empty()) --open.back();
    uint64_t skip = 0;      // bytes of data after the type byte and length
    uint64_t children = 0;  // values inside this one
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
      // fixint, nil, bool
    } else if (b <= 0x8f) {
      children = 2 * uint64_t{b & 0x0fu};
    } else if (b <= 0x9f) {
      children = b & 0x0fu;
    } else if (b <= 0xbf) {
      skip = b & 0x1fu;
    } else {
      uint64_t len = 0;
      switch (b) {
        case 0xc4:  // bin 8/16/32
        case 0xc5:
        case 0xc6:
          if (!length(size_t{1} << (b - 0xc4), &len)) return truncated(pos);
          skip = len;
          break;
        case 0xc7:  // ext 8/16/32: length, type, data
        case 0xc8:
        case 0xc9:
          if (!length(size_t{1} << (b - 0xc7), &len)) return truncated(pos);
          skip = len + 1;
          break;
        case 0xca:
          skip = 4;
          break;
        case 0xcb:
          skip = 8;
          break;
        case 0xcc:  // uint 8..64
        case 0xcd:
        case 0xce:
        case 0xcf:
          skip = uint64_t{1} << (b - 0xcc);
          break;
        case 0xd0:  // int 8..64
        case 0xd1:
        case 0xd2:
        case 0xd3:
          skip = uint64_t{1} << (b - 0xd0);
          break;
        case 0xd4:  // fixext 1..16: type, data
        case 0xd5:
        case 0xd6:
        case 0xd7:
        case 0xd8:
          skip = 1 + (uint64_t{1} << (b - 0xd4));
          break;
        case 0xd9:  // str 8/16/32
        case 0xda:
        case 0xdb:
          if (!length(size_t{1} << (b - 0xd9), &len)) return truncated(pos);
          skip = len;
          break;
        case 0xdc:  // array 16/32
        case 0xdd:
          if (!length(size_t{2} << (b - 0xdc), &len)) return truncated(pos);
          children = len;
          break;
        case 0xde:  // map 16/32
        case 0xdf:
          if (!length(size_t{2} << (b - 0xde), &len)) return truncated(pos);
          children = 2 * len;
          break;
        default:  // 0xc1: never used
          return absl::DataLossError(
              absl::StrCat("malformed msgpack: reserved byte 0xc1 at byte ", start));
      }
    }
    if (skip > n - pos) return truncated(n);
    pos += skip;
    if (children > 0) {
      if (pending + children > n - pos) {
        return absl::DataLossError(absl::StrCat("malformed msgpack: container at byte ", start,
                                                " declares ", children,
                                                " values, more than the bytes left"));
      }
      pending += children;
      open.push_back(children);
      if (open.size() > kMaxMsgpackDepth) {
        return absl::DataLossError(
            absl::StrCat("msgpack nested deeper than ", kMaxMsgpackDepth, " levels"));
      }
    }
    while (!open.empty() && open.back() == 0) open.pop_back();
  }
  if (pos != n) {
    return absl::DataLossError(
        absl::StrCat("malformed msgpack: ", n - pos, " bytes after the value"));
  }
  return absl::OkStatus();
}

absl::Status WrongTypeError(std::span<const uint8_t> bytes, const std::string& wanted,
                            std::string_view detail) {
  std::string message =
      absl::StrCat("wrong type: the object holds ", DescribeObject(bytes), "; requested ", wanted);
  if (!detail.empty()) absl::StrAppend(&message, " (", Absl(detail), ")");
  return absl::InvalidArgumentError(message);
}

absl::Status RawElementMismatch(std::span<const uint8_t> bytes, const ObjectHeader& header,
                                const std::string& wanted) {
  return WrongTypeError(bytes, wanted,
                        header.elem_kind == static_cast<uint8_t>(ElementKind::kTrivial)
                            ? "a different element struct"
                            : "a different element type");
}

absl::Status ErrorObjectStatus(std::span<const uint8_t> bytes) {
  absl::StatusOr<TaskErrorInfo> info = DeserializeError(bytes);
  if (!info.ok()) return info.status();
  return absl::AbortedError(absl::StrCat("the object is a task error: ", info->ToString()));
}

}  // namespace internal
}  // namespace ray
