// How the API's serialization sees a C++ type: raw (which element type), msgpack, or not
// serializable (and which part of it is not). Template machinery of
// ray/api/internal/serialization.h.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <ctime>
#include <deque>
#include <forward_list>
#include <list>
#include <map>
#include <memory>
#include <msgpack.hpp>
#include <optional>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "ray/api/values.h"
#include "ray/object/msgpack_object.h"
#include "ray/object/object_format.h"

namespace ray::internal {

template <typename E>
ElementType RawElementType() {
  static_assert(kIsRawElement<E>);
  static_assert(std::is_trivially_copyable_v<E>, "a raw element must be trivially copyable");
  if constexpr (std::is_same_v<E, bool>) {
    return {ElementKind::kBool, 1, 0};
  } else if constexpr (std::is_same_v<E, char>) {
    return {ElementKind::kText, 1, 0};
  } else if constexpr (std::is_same_v<E, std::byte> || (std::is_integral_v<E> && sizeof(E) == 1)) {
    return {ElementKind::kBytes, 1, 0};
  } else if constexpr (std::is_floating_point_v<E>) {
    return {ElementKind::kFloat, sizeof(E), 0};
  } else if constexpr (std::is_integral_v<E> && std::is_signed_v<E>) {
    return {ElementKind::kSigned, sizeof(E), 0};
  } else if constexpr (std::is_integral_v<E>) {
    return {ElementKind::kUnsigned, sizeof(E), 0};
  } else {
    return {ElementKind::kTrivial, sizeof(E), TypeHash<E>()};
  }
}

inline bool IsByteLike(ElementKind kind) {
  return kind == ElementKind::kText || kind == ElementKind::kBytes;
}

inline bool RawCompatible(const ObjectHeader& h, const ElementType& want) {
  ElementKind have = static_cast<ElementKind>(h.elem_kind);
  if (IsByteLike(have) && IsByteLike(want.kind)) return true;
  return have == want.kind && h.elem_size == want.size &&
         (want.kind != ElementKind::kTrivial || h.type_hash == want.type_hash);
}

// Types written raw: Elem is the element type, Elements() the contiguous elements.
template <typename T>
struct RawWrite {
  static constexpr bool kValue = false;
};
template <typename E, typename A>
struct RawWrite<std::vector<E, A>> {
  static constexpr bool kValue = kIsRawElement<E> && !std::is_same_v<E, bool>;
  using Elem = E;
  static std::span<const E> Elements(const std::vector<E, A>& v) { return {v.data(), v.size()}; }
};
template <typename E, size_t N>
struct RawWrite<std::span<E, N>> {
  using Elem = std::remove_const_t<E>;
  static constexpr bool kValue = kIsRawElement<Elem>;
  static std::span<const Elem> Elements(std::span<E, N> s) { return {s.data(), s.size()}; }
};
template <typename E>
struct RawWrite<ArrayView<E>> {
  static constexpr bool kValue = kIsRawElement<E>;
  using Elem = E;
  static std::span<const E> Elements(const ArrayView<E>& v) { return v.span(); }
};
template <typename Tr, typename A>
struct RawWrite<std::basic_string<char, Tr, A>> {
  static constexpr bool kValue = true;
  using Elem = char;
  static std::span<const char> Elements(const std::basic_string<char, Tr, A>& s) {
    return {s.data(), s.size()};
  }
};
template <typename Tr>
struct RawWrite<std::basic_string_view<char, Tr>> {
  static constexpr bool kValue = true;
  using Elem = char;
  static std::span<const char> Elements(std::basic_string_view<char, Tr> s) {
    return {s.data(), s.size()};
  }
};
template <>
struct RawWrite<ByteBuffer> {
  static constexpr bool kValue = true;
  using Elem = uint8_t;
  static std::span<const uint8_t> Elements(const ByteBuffer& b) { return b.span(); }
};

// Types Deserialize can fill from a raw object.
template <typename T>
struct RawRead {
  static constexpr bool kValue = false;
};
template <typename E, typename A>
struct RawRead<std::vector<E, A>> {
  static constexpr bool kValue = kIsRawElement<E> && !std::is_same_v<E, bool>;
  using Elem = E;
  static std::vector<E, A> Read(const uint8_t* p, size_t n) {
    if (reinterpret_cast<uintptr_t>(p) % alignof(E) == 0) {
      const E* first = reinterpret_cast<const E*>(p);
      return std::vector<E, A>(first, first + n);  // no zero-fill: one memmove
    }
    std::vector<E, A> v(n);
    if (n != 0) std::memcpy(v.data(), p, n * sizeof(E));
    return v;
  }
};
template <typename Tr, typename A>
struct RawRead<std::basic_string<char, Tr, A>> {
  static constexpr bool kValue = true;
  using Elem = char;
  static std::basic_string<char, Tr, A> Read(const uint8_t* p, size_t n) {
    return std::basic_string<char, Tr, A>(reinterpret_cast<const char*>(p), n);
  }
};
template <>
struct RawRead<ByteBuffer> {
  static constexpr bool kValue = true;
  using Elem = uint8_t;
  static ByteBuffer Read(const uint8_t* p, size_t n) { return ByteBuffer(p, n); }
};

// Non-owning types: Deserialize cannot return them (they would point at bytes it does not own).
template <typename T>
inline constexpr bool kIsNonOwning = false;
template <typename E, size_t N>
inline constexpr bool kIsNonOwning<std::span<E, N>> = true;
template <typename E>
inline constexpr bool kIsNonOwning<ArrayView<E>> = true;
template <typename C, typename Tr>
inline constexpr bool kIsNonOwning<std::basic_string_view<C, Tr>> = true;

// The part of a T that msgpack-cxx has no adaptor for: T itself, or an element, key or member
// type of a standard container inside it; void if there is none. Passes: numbers, bool,
// enums (msgpack needs MSGPACK_ADD_ENUM for them, which cannot be seen from here), strings,
// ByteBuffer, classes with RAY_SERIALIZABLE (msgpack's msgpack_pack and msgpack_unpack
// members), MsgpackAdaptorOptIn types, msgpack's own types, and class templates other than the
// standard containers (unchecked: they may have adaptors of their own). So a plain struct
// without RAY_SERIALIZABLE is caught, alone or inside containers.
template <typename T>
struct MsgpackGapOf;
template <typename T>
using MsgpackGap = typename MsgpackGapOf<std::remove_cv_t<T>>::type;

// The first non-void of T..., or void.
template <typename... T>
struct FirstTypeOf {
  using type = void;
};
template <typename T, typename... Rest>
struct FirstTypeOf<T, Rest...> {
  using type = std::conditional_t<std::is_void_v<T>, typename FirstTypeOf<Rest...>::type, T>;
};
template <typename... T>
using FirstGap = typename FirstTypeOf<MsgpackGap<T>...>::type;

template <typename T>
concept HasMsgpackMembers = requires(const T& in, T& out, msgpack::packer<CountingStream>& packer,
                                     const msgpack::object& object) {
  in.msgpack_pack(packer);
  out.msgpack_unpack(object);
};
// A class made from a template of type parameters only (std::vector<int>, MyBox<Foo>).
template <typename T>
inline constexpr bool kIsTemplateInstance = false;
template <template <typename...> class C, typename... A>
inline constexpr bool kIsTemplateInstance<C<A...>> = true;

template <typename T>
inline constexpr bool kHasOwnMsgpackAdaptor =
    std::is_same_v<T, ByteBuffer> || std::is_same_v<T, msgpack::object> ||
    std::is_same_v<T, msgpack::type::nil_t> || std::is_same_v<T, msgpack::type::raw_ref> ||
    std::is_same_v<T, msgpack::type::v4raw_ref> || std::is_same_v<T, msgpack::type::ext> ||
    std::is_same_v<T, msgpack::type::ext_ref> || std::is_same_v<T, timespec>;

template <typename T>
struct MsgpackGapOf {
  // Not a class: numbers, enums, pointers (which the API rejects with messages of their own).
  static constexpr bool kPasses = (!std::is_class_v<T> && !std::is_union_v<T>) ||
                                  HasMsgpackMembers<T> || MsgpackAdaptorOptIn<T>::value ||
                                  kHasOwnMsgpackAdaptor<T> || kIsTemplateInstance<T>;
  using type = std::conditional_t<kPasses, void, T>;
};
template <typename E, size_t N>
struct MsgpackGapOf<E[N]> {
  using type = MsgpackGap<E>;
};
template <typename E, size_t N>
struct MsgpackGapOf<std::array<E, N>> {
  using type = MsgpackGap<E>;
};
template <typename E, size_t N>
struct MsgpackGapOf<std::span<E, N>> {
  using type = MsgpackGap<E>;
};
template <typename E>
struct MsgpackGapOf<ArrayView<E>> {
  using type = MsgpackGap<E>;
};
template <typename... A>
struct MsgpackGapOf<std::tuple<A...>> {
  using type = FirstGap<A...>;
};
template <typename A, typename B>
struct MsgpackGapOf<std::pair<A, B>> {
  using type = FirstGap<A, B>;
};
// The standard containers by their element types (then the allocator, comparator or hash), and
// by their key and value types: M(container); for each.
#define RAY_INTERNAL_ELEMENT_CONTAINERS(M) \
  M(std::deque);                           \
  M(std::list);                            \
  M(std::forward_list);                    \
  M(std::set);                             \
  M(std::multiset);                        \
  M(std::unordered_set);                   \
  M(std::unordered_multiset);              \
  M(std::optional);                        \
  M(std::shared_ptr);                      \
  M(std::unique_ptr)
#define RAY_INTERNAL_KEY_VALUE_CONTAINERS(M) \
  M(std::map);                               \
  M(std::multimap);                          \
  M(std::unordered_map);                     \
  M(std::unordered_multimap)

// Containers: the element (or key and value) types; not the allocator, comparator or hash.
#define RAY_INTERNAL_ELEMENTS_GAP(container)   \
  template <typename E, typename... Rest>      \
  struct MsgpackGapOf<container<E, Rest...>> { \
    using type = MsgpackGap<E>;                \
  }
RAY_INTERNAL_ELEMENTS_GAP(std::vector);
RAY_INTERNAL_ELEMENT_CONTAINERS(RAY_INTERNAL_ELEMENTS_GAP);
#undef RAY_INTERNAL_ELEMENTS_GAP
#define RAY_INTERNAL_KEY_VALUE_GAP(container)         \
  template <typename K, typename V, typename... Rest> \
  struct MsgpackGapOf<container<K, V, Rest...>> {     \
    using type = FirstGap<K, V>;                      \
  }
RAY_INTERNAL_KEY_VALUE_CONTAINERS(RAY_INTERNAL_KEY_VALUE_GAP);
#undef RAY_INTERNAL_KEY_VALUE_GAP

// The part of a T that ray cannot serialize (see MsgpackGap), or void. Raw types (vectors and
// spans of RAY_RAW_ELEMENT structs too) and C strings serialize.
template <typename T>
using UnserializablePart = std::conditional_t<RawWrite<std::remove_cv_t<T>>::kValue ||
                                                  std::is_same_v<std::decay_t<T>, const char*> ||
                                                  std::is_same_v<std::decay_t<T>, char*>,
                                              void, MsgpackGap<T>>;
template <typename T>
inline constexpr bool kIsSerializable = std::is_void_v<UnserializablePart<T>>;

// Whether a value of type T may hold an actor's handle (ray/api/actor.h): not numbers, enums,
// pointers, raw types and standard containers of those; any other class may (its members cannot
// be seen from here), and so may containers of such classes. AddNestedRefs runs the packer over
// the values that may.
template <typename T>
struct MayHoldHandlesOf {
  static constexpr bool value = !std::is_arithmetic_v<T> && !std::is_enum_v<T> &&
                                !std::is_pointer_v<T> && !RawWrite<T>::kValue &&
                                !std::is_same_v<T, ByteBuffer>;
};
template <typename T>
inline constexpr bool kMayHoldHandles = MayHoldHandlesOf<std::remove_cv_t<T>>::value;
template <typename E, size_t N>
struct MayHoldHandlesOf<std::array<E, N>> : std::bool_constant<kMayHoldHandles<E>> {};
template <typename... A>
struct MayHoldHandlesOf<std::tuple<A...>> : std::bool_constant<(kMayHoldHandles<A> || ...)> {};
template <typename A, typename B>
struct MayHoldHandlesOf<std::pair<A, B>>
    : std::bool_constant<kMayHoldHandles<A> || kMayHoldHandles<B>> {};
template <typename E, typename A>
struct MayHoldHandlesOf<std::vector<E, A>>
    : std::bool_constant<!RawWrite<std::vector<E, A>>::kValue && kMayHoldHandles<E>> {};
#define RAY_INTERNAL_ELEMENTS_MAY_HOLD(container) \
  template <typename E, typename... Rest>         \
  struct MayHoldHandlesOf<container<E, Rest...>> : std::bool_constant<kMayHoldHandles<E>> {}
RAY_INTERNAL_ELEMENT_CONTAINERS(RAY_INTERNAL_ELEMENTS_MAY_HOLD);
#undef RAY_INTERNAL_ELEMENTS_MAY_HOLD
#define RAY_INTERNAL_KEY_VALUE_MAY_HOLD(container)    \
  template <typename K, typename V, typename... Rest> \
  struct MayHoldHandlesOf<container<K, V, Rest...>>   \
      : std::bool_constant<kMayHoldHandles<K> || kMayHoldHandles<V>> {}
RAY_INTERNAL_KEY_VALUE_CONTAINERS(RAY_INTERNAL_KEY_VALUE_MAY_HOLD);
#undef RAY_INTERNAL_KEY_VALUE_MAY_HOLD
#undef RAY_INTERNAL_ELEMENT_CONTAINERS
#undef RAY_INTERNAL_KEY_VALUE_CONTAINERS

// Does msgpack get a chance at T? Not for containers of opted-in raw structs (msgpack has no
// adaptor for them; they are raw only).
template <typename T>
constexpr bool MsgpackReadable() {
  if constexpr (RawRead<T>::kValue) {
    using E = typename RawRead<T>::Elem;
    return std::is_arithmetic_v<E> || std::is_same_v<E, std::byte> || std::is_same_v<T, ByteBuffer>;
  } else {
    return true;
  }
}

}  // namespace ray::internal
