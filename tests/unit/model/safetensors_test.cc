#include "model/safetensors.h"

#include <gtest/gtest.h>

#include <cstring>
#include <string>

namespace ts {
namespace {

std::vector<uint8_t> FileWith(const std::string& header, size_t data_bytes) {
  std::vector<uint8_t> f(8 + header.size() + data_bytes, 0);
  uint64_t n = header.size();
  for (int i = 0; i < 8; ++i) f[i] = static_cast<uint8_t>(n >> (8 * i));
  std::memcpy(f.data() + 8, header.data(), header.size());
  return f;
}

Status Parse(const std::string& header, size_t data_bytes) {
  auto f = FileWith(header, data_bytes);
  return ParseSafetensorsHeader(f, "test.safetensors").status();
}

TEST(SafetensorsTest, ParsesValidHeader) {
  auto f = FileWith(R"({"__metadata__":{"format":"pt"},)"
                    R"("a":{"dtype":"BF16","shape":[2,3],"data_offsets":[0,12]},)"
                    R"("b":{"dtype":"F32","shape":[],"data_offsets":[12,16]}})",
                    16);
  auto h = ParseSafetensorsHeader(f, "x");
  ASSERT_TRUE(h.ok()) << h.status().ToString();
  EXPECT_EQ(h->tensors.size(), 2u);
  EXPECT_EQ(h->tensors.at("a").shape, (std::vector<int64_t>{2, 3}));
  EXPECT_EQ(h->tensors.at("b").num_elements(), 1);
}

TEST(SafetensorsTest, RejectsBadInputWithClearErrors) {
  struct Case {
    std::string header;
    size_t data;
    std::string message;
  };
  const Case cases[] = {
      {"not json", 0, "not valid JSON"},
      {"[1,2]", 0, "not a JSON object"},
      {R"({"a":{"dtype":"Q9","shape":[1],"data_offsets":[0,1]}})", 1, "unknown dtype"},
      {R"({"a":{"dtype":"F32","shape":[2],"data_offsets":[0,4]}})", 4, "shape x dtype"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}})", 2, "truncated"},
      {R"({"a":{"dtype":"F32","shape":[-1],"data_offsets":[0,4]}})", 4, "shape entries"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[4,0]}})", 4, "begin > end"},
      {R"({"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},)"
       R"("b":{"dtype":"F32","shape":[1],"data_offsets":[2,6]}})",
       8, "overlaps"},
      {R"({"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}})",
       4, "overflows"},
      {R"({"a":{"dtype":"F32","shape":[1]}})", 4, "data_offsets"},
      {R"({"a":[[[[[[[[[[[[1]]]]]]]]]]]})", 0, "nests too deeply"},
  };
  for (const Case& c : cases) {
    Status s = Parse(c.header, c.data);
    EXPECT_FALSE(s.ok()) << c.header;
    EXPECT_NE(s.message().find(c.message), std::string::npos) << s.message();
    EXPECT_NE(s.message().find("test.safetensors"), std::string::npos) << s.message();
  }
}

TEST(SafetensorsTest, RejectsHeaderLengthsBeyondTheFile) {
  std::vector<uint8_t> tiny = {1, 2, 3};
  EXPECT_FALSE(ParseSafetensorsHeader(tiny, "x").ok());
  std::vector<uint8_t> huge(16, 0xff);  // header length 2^64 - 1: refused before any allocation
  Status s = ParseSafetensorsHeader(huge, "x").status();
  EXPECT_NE(s.message().find("exceeds the limit"), std::string::npos);
  auto f = FileWith("{}", 0);
  f[0] = 200;  // longer than the file
  EXPECT_NE(ParseSafetensorsHeader(f, "x").status().message().find("past the end"),
            std::string::npos);
}

TEST(TensorStoreTest, MissingFolderIsNotFound) {
  auto store = TensorStore::Open("/nonexistent-model-dir");
  EXPECT_EQ(store.status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace ts
