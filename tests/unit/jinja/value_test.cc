// Values: Python's printing (str/repr, float repr), equality and ordering, JSON in and out.
#include "text/jinja/value.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <nlohmann/json.hpp>

#include "text/jinja/json_convert.h"

namespace ts::jinja {
namespace {

TEST(ValueTest, FloatReprMatchesPython) {
  EXPECT_EQ(FloatRepr(1.0), "1.0");
  EXPECT_EQ(FloatRepr(0.1), "0.1");
  EXPECT_EQ(FloatRepr(0.1 + 0.2), "0.30000000000000004");
  EXPECT_EQ(FloatRepr(1e16), "1e+16");
  EXPECT_EQ(FloatRepr(1e15), "1000000000000000.0");
  EXPECT_EQ(FloatRepr(123456.789), "123456.789");
  EXPECT_EQ(FloatRepr(0.0001), "0.0001");
  EXPECT_EQ(FloatRepr(0.00001), "1e-05");
  EXPECT_EQ(FloatRepr(-2.5e-8), "-2.5e-08");
  EXPECT_EQ(FloatRepr(1.5e300), "1.5e+300");
  EXPECT_EQ(FloatRepr(-0.0), "-0.0");
  EXPECT_EQ(FloatRepr(std::numeric_limits<double>::infinity()), "inf");
  EXPECT_EQ(FloatRepr(std::nan("")), "nan");
}

TEST(ValueTest, StrAndRepr) {
  auto list = Value::MakeList(
      {Value("it's"), Value(int64_t{1}), Value::MakeNone(), Value(true), Value(2.5), Value()});
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(*ToStr(*list), "[\"it's\", 1, None, True, 2.5, Undefined]");
  EXPECT_EQ(*ToStr(Value("plain")), "plain");
  EXPECT_EQ(*ToRepr(Value("a'b\"c\n")), "'a\\'b\"c\\n'");
  EXPECT_EQ(*ToStr(Value()), "");
  auto tuple = Value::MakeList({Value(int64_t{1})}, /*is_tuple=*/true);
  EXPECT_EQ(*ToStr(*tuple), "(1,)");
}

TEST(ValueTest, EqualityFollowsPython) {
  EXPECT_TRUE(*Equals(Value(int64_t{1}), Value(1.0)));
  EXPECT_TRUE(*Equals(Value(true), Value(int64_t{1})));
  EXPECT_FALSE(*Equals(Value("1"), Value(int64_t{1})));
  EXPECT_TRUE(*Equals(Value(), Value()));
  EXPECT_FALSE(*Equals(Value(), Value::MakeNone()));
  Dict a;
  a.Set("x", Value(int64_t{1}));
  a.Set("y", Value("z"));
  Dict b;
  b.Set("y", Value("z"));
  b.Set("x", Value(1.0));
  EXPECT_TRUE(*Equals(*Value::MakeDict(a), *Value::MakeDict(b)));
}

TEST(ValueTest, DictKeepsOrderAndFindsKeysAtAnySize) {
  Dict dict;
  for (int i = 0; i < 100; ++i) dict.Set("key" + std::to_string(i), Value(int64_t{i}));
  dict.Set("key7", Value("replaced"));
  Dict copy = dict;
  Dict moved = std::move(dict);
  for (const Dict* d : {&copy, &moved}) {
    ASSERT_EQ(d->size(), 100u);
    EXPECT_EQ(d->entries()[7].first, "key7");
    EXPECT_EQ(d->Find("key7")->as_string(), "replaced");
    for (int i = 0; i < 100; i += 9) {
      EXPECT_EQ(d->Find("key" + std::to_string(i))->as_int(), i);
    }
    EXPECT_EQ(d->Find("missing"), nullptr);
  }
}

TEST(ValueTest, CompareOrdersNumbersStringsAndLists) {
  EXPECT_EQ(*Compare(Value(int64_t{1}), Value(2.5)), -1);
  EXPECT_EQ(*Compare(Value("b"), Value("a")), 1);
  EXPECT_EQ(*Compare(Value("é"), Value("z")), 1);  // code point order
  auto l1 = Value::MakeList({Value(int64_t{1}), Value(int64_t{2})});
  auto l2 = Value::MakeList({Value(int64_t{1})});
  EXPECT_EQ(*Compare(*l1, *l2), 1);
  EXPECT_FALSE(Compare(Value("a"), Value(int64_t{1})).ok());
}

TEST(ValueTest, ListsRefuseToNestPastTheLimit) {
  Value v = *Value::MakeList({});
  for (int i = 1; i < kMaxValueDepth; ++i) v = *Value::MakeList({v});
  EXPECT_EQ(v.depth(), kMaxValueDepth);
  EXPECT_EQ(Value::MakeList({v}).status().code(), StatusCode::kOutOfRange);
}

TEST(JsonTest, RoundTripKeepsOrderAndTypes) {
  auto json = nlohmann::ordered_json::parse(
      R"({"z": 1, "a": [true, null, 2.5, "s", {"k": -3}], "big": 18446744073709551615})");
  auto v = FromJson(json);
  ASSERT_TRUE(v.ok());
  auto dumped = ToJson(*v, JsonDumpOptions{});
  ASSERT_TRUE(dumped.ok());
  EXPECT_EQ(*dumped,
            R"({"z": 1, "a": [true, null, 2.5, "s", {"k": -3}], "big": 1.8446744073709552e+19})");
}

TEST(JsonTest, DumpOptionsMatchJsonDumps) {
  auto v = *FromJson(nlohmann::ordered_json::parse(R"({"b": [1, {}], "a": "é\u0001"})"));
  JsonDumpOptions indented;
  indented.indent = 2;
  EXPECT_EQ(*ToJson(v, indented), "{\n  \"b\": [\n    1,\n    {}\n  ],\n  \"a\": \"é\\u0001\"\n}");
  JsonDumpOptions compact;
  compact.item_separator = ",";
  compact.key_separator = ":";
  compact.sort_keys = true;
  compact.ensure_ascii = true;
  EXPECT_EQ(*ToJson(v, compact), R"({"a":"\u00e9\u0001","b":[1,{}]})");
  JsonDumpOptions tiny;
  tiny.max_bytes = 4;
  EXPECT_EQ(ToJson(v, tiny).status().code(), StatusCode::kResourceExhausted);
  EXPECT_FALSE(ToJson(Value(), JsonDumpOptions{}).ok());
}

TEST(JsonTest, DeepDocumentsAreRefused) {
  std::string deep = std::string(500, '[') + std::string(500, ']');
  auto v = FromJson(nlohmann::ordered_json::parse(deep));
  EXPECT_EQ(v.status().code(), StatusCode::kOutOfRange);
}

}  // namespace
}  // namespace ts::jinja
