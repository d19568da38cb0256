#include "base/mapped_file.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cstdio>
#include <string>

namespace ts {
namespace {

std::string TempPath(const std::string& name) {
  return ::testing::TempDir() + "/" + name + "." + std::to_string(::getpid());
}

TEST(MappedFileTest, MapsWrittenFile) {
  std::string path = TempPath("mapped");
  ASSERT_TRUE(WriteFileAtomically(path, "hello world").ok());
  auto file = MappedFile::Open(path);
  ASSERT_TRUE(file.ok()) << file.status().ToString();
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(file->data()), file->size()), "hello world");
  MappedFile moved = std::move(*file);
  EXPECT_EQ(moved.size(), 11u);
  EXPECT_EQ(file->data(), nullptr);
  std::remove(path.c_str());
}

TEST(MappedFileTest, EmptyAndMissingFiles) {
  std::string path = TempPath("empty");
  ASSERT_TRUE(WriteFileAtomically(path, "").ok());
  auto empty = MappedFile::Open(path);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(empty->size(), 0u);
  std::remove(path.c_str());
  auto missing = MappedFile::Open(path);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  EXPECT_EQ(MappedFile::Open("/").status().code(), StatusCode::kInvalidArgument);
}

TEST(MappedFileTest, ReadFileRespectsLimit) {
  std::string path = TempPath("limit");
  ASSERT_TRUE(WriteFileAtomically(path, std::string(100, 'x')).ok());
  EXPECT_EQ(ReadFileToString(path, 99).status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(ReadFileToString(path, 100)->size(), 100u);
  std::remove(path.c_str());
}

}  // namespace
}  // namespace ts
