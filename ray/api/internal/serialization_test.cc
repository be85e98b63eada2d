#include "ray/api/internal/serialization.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <list>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <tuple>
#include <unordered_map>

#include "ray/api/internal/serialization_test_types.h"

namespace ray {
namespace {

using ::testing::HasSubstr;

using namespace ::ray::testing;  // NOLINT: the types of serialization_test_types.h

TEST(SerializationTest, ScalarsRoundTrip) {
  EXPECT_EQ(RoundTrip(0), 0);
  EXPECT_EQ(RoundTrip(42), 42);
  EXPECT_EQ(RoundTrip(-7), -7);
  EXPECT_EQ(RoundTrip(std::numeric_limits<int64_t>::min()), std::numeric_limits<int64_t>::min());
  EXPECT_EQ(RoundTrip(std::numeric_limits<int64_t>::max()), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(RoundTrip(std::numeric_limits<uint64_t>::max()), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(RoundTrip(int8_t{-128}), int8_t{-128});
  EXPECT_EQ(RoundTrip(uint16_t{65535}), uint16_t{65535});
  EXPECT_EQ(RoundTrip(3.25), 3.25);
  EXPECT_EQ(RoundTrip(-1.5f), -1.5f);
  EXPECT_EQ(RoundTrip(true), true);
  EXPECT_EQ(RoundTrip(false), false);
  EXPECT_EQ(RoundTrip('x'), 'x');
  EXPECT_EQ(static_cast<ObjectFormat>(HeaderOf(Serialize(42)).format), ObjectFormat::kMsgpack);
  EXPECT_EQ(Serialize(42).size(), kObjectHeaderSize + 1);  // a positive fixint
  // msgpack's conversions: an integer reads as a float.
  EXPECT_EQ(*Deserialize<double>(Serialize(3)), 3.0);
  EXPECT_EQ(*Deserialize<int64_t>(Serialize(uint8_t{200})), 200);
}

TEST(SerializationTest, FloatsAreMsgpackFloatsEvenWhenWhole) {
  // msgpack-cxx alone writes 2.0 as the int 2, which other languages read as an int.
  EXPECT_EQ(Serialize(2.0).substr(kObjectHeaderSize), std::string("\xcb\x40\0\0\0\0\0\0\0", 9));
  EXPECT_EQ(Serialize(1.0f).substr(kObjectHeaderSize), std::string("\xca\x3f\x80\0\0", 5));
  EXPECT_EQ(SerializedSize(std::make_tuple(0.0)), kObjectHeaderSize + 1 + 9);
  EXPECT_EQ(RoundTrip(2.0), 2.0);
  EXPECT_EQ(Deserialize<int>(Serialize(2.0)).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(SerializationTest, SerializeMsgpackWritesMsgpackAlsoForRawTypes) {
  std::string text = SerializeMsgpack(std::string("ab"));
  EXPECT_EQ(static_cast<ObjectFormat>(HeaderOf(text).format), ObjectFormat::kMsgpack);
  EXPECT_EQ(text.substr(kObjectHeaderSize), std::string("\xa2") + "ab");
  EXPECT_EQ(*Deserialize<std::string>(text), "ab");
  EXPECT_EQ(*Deserialize<std::vector<double>>(SerializeMsgpack(std::vector<double>{1, 0.5})),
            (std::vector<double>{1, 0.5}));
  std::string bytes = SerializeMsgpack(std::vector<uint8_t>{7});
  EXPECT_EQ(bytes.substr(kObjectHeaderSize), std::string("\xc4\x01\x07", 3));  // bin
  EXPECT_EQ(*Deserialize<std::vector<uint8_t>>(bytes), std::vector<uint8_t>{7});
  EXPECT_EQ(SerializeMsgpack(42), Serialize(42));
}

TEST(SerializationTest, RawContainersRoundTrip) {
  std::vector<double> doubles = {1.5, -2.25, 1e300, 0.0};
  EXPECT_EQ(RoundTrip(doubles), doubles);
  std::vector<int> ints = {1, -2, 3};
  EXPECT_EQ(RoundTrip(ints), ints);
  std::vector<uint64_t> big = {0, ~uint64_t{0}};
  EXPECT_EQ(RoundTrip(big), big);
  std::vector<uint8_t> bytes = {0, 1, 255};
  EXPECT_EQ(RoundTrip(bytes), bytes);
  std::vector<float> empty;
  EXPECT_EQ(RoundTrip(empty), empty);
  EXPECT_EQ(RoundTrip(std::string("hello\0world", 11)), std::string("hello\0world", 11));
  EXPECT_EQ(RoundTrip(std::string()), std::string());
  ByteBuffer buffer(std::vector<uint8_t>{9, 8, 7});
  EXPECT_EQ(RoundTrip(buffer), buffer);
  std::vector<Pixel> pixels = {{1, 2, 3, 4}, {5, 6, 7, 8}};
  EXPECT_EQ(RoundTrip(pixels), pixels);

  for (const std::string& object :
       {Serialize(doubles), Serialize(ints), Serialize(std::string("abc")), Serialize(buffer),
        Serialize(pixels)}) {
    EXPECT_EQ(static_cast<ObjectFormat>(HeaderOf(object).format), ObjectFormat::kRaw);
  }
  ObjectHeader h = HeaderOf(Serialize(doubles));
  EXPECT_EQ(h.magic, kObjectMagic);
  EXPECT_EQ(static_cast<ElementKind>(h.elem_kind), ElementKind::kFloat);
  EXPECT_EQ(h.elem_size, 8u);
  EXPECT_EQ(h.payload_size, 4 * sizeof(double));
  EXPECT_STREQ(h.type_name, "std::vector<double>");
  EXPECT_EQ(std::memcmp(Serialize(doubles).data() + kObjectHeaderSize, doubles.data(), 32), 0);
}

TEST(SerializationTest, NonOwningTypesWriteRawAndReadBackOwned) {
  const std::vector<float> floats = {1, 2, 3};
  std::span<const float> span(floats);
  std::string object = Serialize(span);
  EXPECT_EQ(HeaderOf(object).format, static_cast<uint8_t>(ObjectFormat::kRaw));
  EXPECT_STREQ(HeaderOf(object).type_name, "std::span<float const>");
  EXPECT_EQ(object.substr(kObjectHeaderSize), Serialize(floats).substr(kObjectHeaderSize));
  EXPECT_EQ(*Deserialize<std::vector<float>>(object), floats);
  std::span<float> mutable_span(const_cast<float*>(floats.data()), 2);
  EXPECT_EQ(*Deserialize<std::vector<float>>(Serialize(mutable_span)), std::vector<float>({1, 2}));
  EXPECT_EQ(*Deserialize<std::string>(Serialize(std::string_view("view"))), "view");
  // A view written again is a raw object of the same elements.
  ArrayView<float> view = *DeserializeView<float>(Bytes(object));
  EXPECT_EQ(*Deserialize<std::vector<float>>(Serialize(view)), floats);
}

TEST(SerializationTest, ByteLikeTypesReadEachOther) {
  std::string object = Serialize(std::string("bytes"));
  EXPECT_EQ(*Deserialize<std::vector<uint8_t>>(object),
            std::vector<uint8_t>({'b', 'y', 't', 'e', 's'}));
  EXPECT_EQ(Deserialize<ByteBuffer>(object)->size(), 5u);
  EXPECT_EQ(*Deserialize<std::string>(Serialize(ByteBuffer("ab", 2))), "ab");
  EXPECT_EQ(*Deserialize<std::vector<char>>(object), std::vector<char>({'b', 'y', 't', 'e', 's'}));
  // A msgpack str or bin (another language's string) reads as a string or a buffer too.
  EXPECT_EQ(*Deserialize<std::string>(Serialize(std::optional<std::string>("m"))), "m");
  EXPECT_EQ(Deserialize<ByteBuffer>(Serialize(std::optional<std::string>("m")))->size(), 1u);
}

TEST(SerializationTest, MsgpackContainersRoundTrip) {
  std::vector<std::string> strings = {"a", "", "ccc"};
  EXPECT_EQ(RoundTrip(strings), strings);
  std::map<std::string, std::vector<int>> map = {{"x", {1, 2}}, {"y", {}}};
  EXPECT_EQ(RoundTrip(map), map);
  std::unordered_map<int, std::string> umap = {{1, "one"}, {2, "two"}};
  EXPECT_EQ(RoundTrip(umap), umap);
  std::tuple<int, std::string, double> tuple{1, "two", 3.0};
  EXPECT_EQ(RoundTrip(tuple), tuple);
  std::pair<std::string, int64_t> pair{"p", -5};
  EXPECT_EQ(RoundTrip(pair), pair);
  EXPECT_EQ(RoundTrip(std::optional<int>(5)), std::optional<int>(5));
  EXPECT_EQ(RoundTrip(std::optional<int>()), std::optional<int>());
  std::vector<std::vector<double>> nested = {{1.0, 2.0}, {}, {3.0}};
  EXPECT_EQ(RoundTrip(nested), nested);
  std::vector<std::map<int, std::vector<std::string>>> deeper = {{{1, {"a", "b"}}}, {}};
  EXPECT_EQ(RoundTrip(deeper), deeper);
  std::vector<bool> bools = {true, false, true};  // not contiguous: msgpack
  EXPECT_EQ(RoundTrip(bools), bools);
  std::array<int, 3> array = {1, 2, 3};
  EXPECT_EQ(RoundTrip(array), array);
  std::set<int> set = {3, 1, 2};
  EXPECT_EQ(RoundTrip(set), set);
  std::vector<ByteBuffer> buffers = {ByteBuffer("ab", 2), ByteBuffer()};
  EXPECT_EQ(RoundTrip(buffers), buffers);
  std::vector<std::optional<double>> optionals = {1.0, std::nullopt};
  EXPECT_EQ(RoundTrip(optionals), optionals);
  EXPECT_EQ(static_cast<ObjectFormat>(HeaderOf(Serialize(nested)).format), ObjectFormat::kMsgpack);
  // A msgpack array (as another language would write it) reads as a vector too.
  EXPECT_EQ(*Deserialize<std::vector<double>>(Serialize(std::list<double>{1, 2})),
            std::vector<double>({1, 2}));
}

TEST(SerializationTest, UserStructRoundTrips) {
  Record record{"rec", 12, "note", {{1, {0.5}}, {2, {}}}, {{"k", {1, 2, 3}}}};
  EXPECT_EQ(RoundTrip(record), record);
  Record empty;
  EXPECT_EQ(RoundTrip(empty), empty);
  std::vector<Record> records = {record, empty};
  EXPECT_EQ(RoundTrip(records), records);
  std::map<std::string, Inner> by_name = {{"a", {1, {2.0}}}};
  EXPECT_EQ(RoundTrip(by_name), by_name);
}

TEST(SerializationTest, RawPayloadIs64ByteAlignedAndViewIsZeroCopy) {
  static_assert(kObjectHeaderSize % kPayloadAlignment == 0);
  std::vector<double> values(1000);
  for (size_t i = 0; i < values.size(); ++i) values[i] = i * 0.5;
  AlignedBuffer buffer(SerializedSize(values));
  ASSERT_EQ(reinterpret_cast<uintptr_t>(buffer.data) % 64, 0u);
  SerializeInto(values, buffer.span());

  auto owner = std::make_shared<int>(1);
  std::weak_ptr<int> watch = owner;
  absl::StatusOr<ArrayView<double>> view = DeserializeView<double>(buffer.span(), owner);
  ASSERT_TRUE(view.ok()) << view.status();
  owner.reset();
  EXPECT_FALSE(watch.expired());  // the view keeps the pin alive
  EXPECT_EQ(reinterpret_cast<const uint8_t*>(view->data()), buffer.data + kObjectHeaderSize);
  EXPECT_EQ(reinterpret_cast<uintptr_t>(view->data()) % 64, 0u);
  ASSERT_EQ(view->size(), 1000u);
  EXPECT_EQ((*view)[10], 5.0);
  double sum = 0;
  for (double x : *view) sum += x;
  EXPECT_EQ(sum, 0.5 * 999 * 1000 / 2);
  std::span<const double> span = *view;
  EXPECT_EQ(span.data(), view->data());
  EXPECT_EQ(view->ToVector(), values);
  ArrayView<double> copy = *view;
  view = ArrayView<double>();
  EXPECT_FALSE(watch.expired());
  copy = ArrayView<double>();
  EXPECT_TRUE(watch.expired());

  std::string text = Serialize(std::string("zero copy"));
  ArrayView<char> chars = *DeserializeView<char>(Bytes(text));
  EXPECT_EQ(chars.str(), "zero copy");
  EXPECT_EQ(chars.data(), text.data() + kObjectHeaderSize);
  EXPECT_EQ(DeserializeView<uint8_t>(Bytes(text))->size(), 9u);  // bytes view text
  std::string pixels = Serialize(std::vector<Pixel>{{1, 2, 3, 4}});
  EXPECT_EQ((*DeserializeView<Pixel>(Bytes(pixels)))[0], (Pixel{1, 2, 3, 4}));
  EXPECT_TRUE(DeserializeView<float>(Bytes(Serialize(std::vector<float>())))->empty());
}

TEST(SerializationTest, ViewChecksFormatElementAndAlignment) {
  std::string ints = Serialize(std::vector<int32_t>{1, 2, 3, 4});
  auto status = DeserializeView<float>(Bytes(ints)).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("int32"));
  EXPECT_THAT(std::string(status.message()), HasSubstr("ray::ArrayView<float>"));
  status = DeserializeView<int>(Bytes(Serialize(std::vector<std::string>{"a"}))).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("only raw objects"));
  EXPECT_EQ(DeserializeView<OtherPixel>(Bytes(Serialize(std::vector<Pixel>{{1, 2, 3, 4}})))
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);

  // The same object 1 byte off alignment: no view, but a copy still works.
  std::vector<double> values = {1, 2, 3};
  std::string object = Serialize(values);
  AlignedBuffer buffer(object.size() + 1);
  std::memcpy(buffer.data + 1, object.data(), object.size());
  std::span<const uint8_t> misaligned(buffer.data + 1, object.size());
  status = DeserializeView<double>(misaligned).status();
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(status.message()), HasSubstr("not aligned"));
  EXPECT_EQ(*Deserialize<std::vector<double>>(misaligned), values);
}

TEST(SerializationTest, WrongTypesGiveClearErrors) {
  auto expect_wrong = [](const std::string& object, const absl::Status& status,
                         std::vector<std::string> words) {
    EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument) << status;
    for (const std::string& w : words) {
      EXPECT_THAT(std::string(status.message()), HasSubstr(w));
    }
  };
  // msgpack string, asked for an int.
  std::string str = Serialize(std::optional<std::string>("hello"));
  expect_wrong(str, Deserialize<int>(str).status(), {"msgpack str[5]", "requested int"});
  // raw float data, asked for ints.
  std::string floats = Serialize(std::vector<double>{1, 2});
  expect_wrong(floats, Deserialize<std::vector<int>>(floats).status(),
               {"raw float64[2]", "std::vector<double>", "requested std::vector<int>"});
  // raw data, asked for a type that only msgpack reads.
  expect_wrong(floats, Deserialize<std::list<double>>(floats).status(),
               {"raw float64[2]", "requested std::list<double>"});
  expect_wrong(floats, Deserialize<double>(floats).status(), {"requested double"});
  // raw text, asked for an int.
  std::string text = Serialize(std::string("abc"));
  expect_wrong(text, Deserialize<int>(text).status(), {"raw char[3]", "std::string", "int"});
  // out of range and sign.
  std::string big = Serialize(300);
  expect_wrong(big, Deserialize<int8_t>(big).status(), {"integer 300", "signed char"});
  std::string negative = Serialize(-1);
  expect_wrong(negative, Deserialize<uint32_t>(negative).status(), {"integer -1", "unsigned int"});
  std::string dbl = Serialize(1.5);
  expect_wrong(dbl, Deserialize<int>(dbl).status(), {"float64 1.5", "int"});
  expect_wrong(dbl, Deserialize<bool>(dbl).status(), {"float64", "bool"});
  // containers with the wrong elements.
  std::string strings = Serialize(std::vector<std::string>{"a", "b"});
  expect_wrong(strings, Deserialize<std::vector<int>>(strings).status(),
               {"msgpack array[2] of str", "std::vector<std::string>", "std::vector<int>"});
  std::string map = Serialize(std::map<std::string, int>{{"a", 1}});
  expect_wrong(map, Deserialize<std::vector<int>>(map).status(),
               {"map[1] of str[1] -> integer", "std::map<std::string, int>"});
  expect_wrong(map, Deserialize<Record>(map).status(), {"ray::testing::Record"});
  std::string record = Serialize(Record{});
  expect_wrong(record, Deserialize<std::string>(record).status(), {"array[5]", "std::string"});
  std::string pixels = Serialize(std::vector<Pixel>{{1, 2, 3, 4}});
  expect_wrong(pixels, Deserialize<std::vector<OtherPixel>>(pixels).status(),
               {"raw struct(4 bytes)[1]", "OtherPixel", "a different element struct"});
}

TEST(SerializationTest, TypeNamesAreReadable) {
  EXPECT_EQ(TypeName<int>(), "int");
  EXPECT_EQ(TypeName<std::string>(), "std::string");
  EXPECT_EQ(TypeName<std::vector<std::string>>(), "std::vector<std::string>");
  EXPECT_EQ((TypeName<std::map<std::string, std::vector<int>>>()),
            "std::map<std::string, std::vector<int>>");
  EXPECT_EQ((TypeName<std::unordered_map<int, double>>()), "std::unordered_map<int, double>");
  EXPECT_EQ(TypeName<std::optional<std::string_view>>(), "std::optional<std::string_view>");
  // A long name is cut in the header, and says so.
  using Long = std::map<std::string, std::map<std::string, std::vector<int>>>;
  ObjectHeader h = HeaderOf(Serialize(Long{}));
  EXPECT_EQ(std::string(h.type_name), TypeName<Long>().substr(0, 28) + "...");
}

TEST(SerializationDeathTest, SerializeIntoTooSmallAborts) {
  std::vector<uint8_t> small(kObjectHeaderSize + 3);
  EXPECT_DEATH(SerializeInto(std::vector<int>{1, 2}, small), "output of 67 bytes");
  EXPECT_DEATH(SerializeInto(std::vector<std::string>{"abcd"}, small), "too small");
}

using Clock = std::chrono::steady_clock;
double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

TEST(SerializationMeasure, PrintsCosts) {
  constexpr int kIterations = 1000000;
  int64_t sink = 0;
  auto start = Clock::now();
  for (int i = 0; i < kIterations; ++i) {
    std::string object = Serialize(i);
    sink += *Deserialize<int>(object);
  }
  const double string_ns = Seconds(Clock::now() - start) * 1e9 / kIterations;
  alignas(64) uint8_t buffer[kObjectHeaderSize + 16];
  start = Clock::now();
  for (int i = 0; i < kIterations; ++i) {
    size_t n = SerializeInto(i, std::span<uint8_t>(buffer, sizeof(buffer)));
    sink += *Deserialize<int>(std::span<const uint8_t>(buffer, n));
  }
  const double inplace_ns = Seconds(Clock::now() - start) * 1e9 / kIterations;
  std::printf(
      "int: Serialize+Deserialize %.0f ns (std::string), SerializeInto+Deserialize %.0f ns"
      " (in place)\n",
      string_ns, inplace_ns);

  const size_t n = (100u << 20) / sizeof(double);
  std::vector<double> values(n);
  for (size_t i = 0; i < n; ++i) values[i] = static_cast<double>(i);
  AlignedBuffer out(SerializedSize(values));
  std::memset(out.data, 1, out.size);  // fault the pages in first, as the store does
  const double gb = n * sizeof(double) / 1e9;
  double best_memcpy = 1e9, best_ser = 1e9, best_copy = 1e9, best_view = 0;
  for (int round = 0; round < 3; ++round) {
    start = Clock::now();
    std::memcpy(out.data + kObjectHeaderSize, values.data(), n * sizeof(double));
    best_memcpy = std::min(best_memcpy, Seconds(Clock::now() - start));
    start = Clock::now();
    SerializeInto(values, out.span());
    best_ser = std::min(best_ser, Seconds(Clock::now() - start));
    start = Clock::now();
    absl::StatusOr<std::vector<double>> copy = Deserialize<std::vector<double>>(out.span());
    best_copy = std::min(best_copy, Seconds(Clock::now() - start));
    ASSERT_EQ(copy->size(), n);
  }
  auto pin = std::make_shared<int>(0);
  constexpr int kViews = 100000;
  start = Clock::now();
  for (int i = 0; i < kViews; ++i) {
    absl::StatusOr<ArrayView<double>> view = DeserializeView<double>(out.span(), pin);
    sink += static_cast<int64_t>((*view)[n - 1]);
  }
  best_view = Seconds(Clock::now() - start) / kViews;
  std::printf(
      "100 MiB vector<double>: memcpy %.1f GB/s, SerializeInto %.1f GB/s, "
      "Deserialize (copy into a new vector) %.1f GB/s, DeserializeView (with a pin) %.0f ns\n",
      gb / best_memcpy, gb / best_ser, gb / best_copy, best_view * 1e9);
  EXPECT_NE(sink, 0);
}

}  // namespace
}  // namespace ray
