// A list in a received message, every element checked once when the message is decoded, then
// read as plain views: reading an element cannot fail and copies no value (views point into the
// message, which the holder keeps alive).
#pragma once

#include <capnp/blob.h>
#include <capnp/list.h>
#include <kj/exception.h>

#include <cstddef>
#include <iterator>
#include <limits>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"

namespace ray::core {

// For lists bounded by the frame's size only.
inline constexpr size_t kAnyLength = std::numeric_limits<size_t>::max();

inline std::string_view TextView(capnp::Text::Reader text) { return {text.cStr(), text.size()}; }

// Runs `read` (returning an absl::Status or StatusOr): a kj::Exception, thrown for what Cap'n
// Proto cannot read (a bad pointer, text without its NUL, past the traversal limit), becomes
// InvalidArgument.
template <typename Read>
auto Guarded(const char* what, Read read) -> decltype(read()) {
  try {
    return read();
  } catch (const kj::Exception& e) {
    return absl::InvalidArgumentError(
        absl::StrCat("malformed ", what, ": ", e.getDescription().cStr()));
  }
}

// Checks that `list` has at most `max` elements and each passes `check` (an absl::Status of an
// element); the error names the list and the element.
template <typename List, typename Check>
absl::Status CheckEach(List list, size_t max, const char* what, Check check) {
  if (list.size() > max) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": ", list.size(), " elements, more than ", max));
  }
  for (size_t i = 0; i < list.size(); ++i) {
    if (absl::Status s = check(list[i]); !s.ok()) {
      return absl::InvalidArgumentError(absl::StrCat(what, "[", i, "]: ", s.message()));
    }
  }
  return absl::OkStatus();
}

// A list of at most `kMax` elements of `Element` (a struct, or Data), each of which passes
// `kCheck`; `kView` reads one that did.
template <typename Element, typename View, View (*kView)(typename Element::Reader),
          absl::Status (*kCheck)(typename Element::Reader), size_t kMax = kAnyLength>
class CheckedList {
 public:
  using Reader = typename capnp::List<Element>::Reader;

  // As CheckEach; `what` names the list in the error.
  static absl::StatusOr<CheckedList> Read(Reader list, const char* what) {
    return Guarded(what, [&]() -> absl::StatusOr<CheckedList> {
      absl::Status checked = Check(list, what);
      if (!checked.ok()) return checked;
      return CheckedList(list);
    });
  }
  // The check alone, for a list inside a part being read (in Guarded).
  static absl::Status Check(Reader list, const char* what) {
    return CheckEach(list, kMax, what, kCheck);
  }

  CheckedList() = default;
  // REQUIRES: every element of `list` passed its check.
  explicit CheckedList(Reader list) : list_(list) {}

  size_t size() const { return list_.size(); }
  bool empty() const { return list_.size() == 0; }
  View operator[](size_t i) const { return kView(list_[i]); }

  class iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = View;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = View;
    iterator() = default;
    iterator(const CheckedList* list, size_t i) : list_(list), i_(i) {}
    View operator*() const { return (*list_)[i_]; }
    iterator& operator++() {
      ++i_;
      return *this;
    }
    iterator operator++(int) { return {list_, i_++}; }
    bool operator==(const iterator& other) const { return i_ == other.i_; }

   private:
    const CheckedList* list_ = nullptr;
    size_t i_ = 0;
  };
  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, size()}; }
  std::vector<View> ToVector() const { return std::vector<View>(begin(), end()); }

 private:
  Reader list_;
};

}  // namespace ray::core
