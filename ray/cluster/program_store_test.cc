#include "ray/cluster/program_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <filesystem>
#include <fstream>

#include "ray/function/function_id.h"

namespace ray::cluster {
namespace {

class ProgramStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string dir = ::testing::TempDir() + "/program-store-XXXXXX";
    ASSERT_NE(mkdtemp(dir.data()), nullptr);
    dir_ = dir + "/files";
    auto store = ProgramStore::Open(dir_, 1 << 20);
    ASSERT_TRUE(store.ok()) << store.status();
    store_ = *std::move(store);
  }

  // The names in the store's folder.
  std::vector<std::string> Names() {
    std::vector<std::string> names;
    for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
      names.push_back(entry.path().filename().string());
    }
    return names;
  }

  absl::Status Upload(const std::string& key, const std::string& bytes) {
    auto upload = store_->BeginUpload(key, bytes.size());
    if (!upload.ok()) return upload.status();
    if (absl::Status written = (*upload)->Write(bytes); !written.ok()) return written;
    return (*upload)->Commit();
  }

  static std::string KeyOf(const std::string& bytes) {
    return ContentKey(Fnv1a128().Mix(bytes).hash());
  }

  std::string dir_;
  std::unique_ptr<ProgramStore> store_;
};

TEST_F(ProgramStoreTest, AFileIsReadableUnderItsKeyOnceCommitted) {
  std::string bytes = "not an ELF file, so keyed by its hash";
  std::string key = KeyOf(bytes);
  auto upload = store_->BeginUpload(key, bytes.size());
  ASSERT_TRUE(upload.ok()) << upload.status();
  ASSERT_TRUE((*upload)->Write(bytes.substr(0, 10)).ok());
  EXPECT_EQ(store_->Read(key, 0, 100).status().code(), absl::StatusCode::kNotFound);
  ASSERT_TRUE((*upload)->Write(bytes.substr(10)).ok());
  ASSERT_TRUE((*upload)->Commit().ok());
  EXPECT_EQ(*store_->Read(key, 0, 100), bytes);
  EXPECT_EQ(*store_->Read(key, 4, 2), "an");
  EXPECT_EQ(*store_->Read(key, bytes.size(), 2), "");
  EXPECT_EQ(store_->Read(key, bytes.size() + 1, 2).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(store_->bytes(), bytes.size());
  EXPECT_EQ(Names(), std::vector<std::string>{key});
}

TEST_F(ProgramStoreTest, BytesThatAreNotTheKeysAreRefusedAndLeaveNothing) {
  std::string bytes = "some bytes";
  EXPECT_EQ(Upload(KeyOf("other bytes"), bytes).code(), absl::StatusCode::kInvalidArgument);
  // A build-id key for bytes without that build-id.
  EXPECT_EQ(Upload("0123456789abcdef0123456789abcdef01234567", bytes).code(),
            absl::StatusCode::kInvalidArgument);
  auto upload = store_->BeginUpload(KeyOf(bytes), bytes.size());
  ASSERT_TRUE(upload.ok());
  EXPECT_EQ((*upload)->Write(bytes + "!").code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ((*upload)->Commit().code(), absl::StatusCode::kInvalidArgument);  // nothing written
  EXPECT_TRUE(Names().empty());
  EXPECT_EQ(store_->bytes(), 0u);
}

TEST_F(ProgramStoreTest, AnUploadDroppedBeforeCommitLeavesNothing) {
  std::string bytes = "half of a file";
  auto upload = store_->BeginUpload(KeyOf(bytes), bytes.size());
  ASSERT_TRUE(upload.ok());
  ASSERT_TRUE((*upload)->Write(bytes.substr(0, 4)).ok());
  EXPECT_EQ(Names().size(), 1u);  // its temporary file, under a name that is no key
  EXPECT_FALSE(IsFileKey(Names()[0]));
  upload->reset();
  EXPECT_TRUE(Names().empty());
  EXPECT_EQ(store_->bytes(), 0u);
}

TEST_F(ProgramStoreTest, MalformedKeysAndSizesPastTheBoundsAreRefused) {
  EXPECT_EQ(store_->BeginUpload("../escape", 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->BeginUpload("", 1).status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->BeginUpload(KeyOf("x"), kMaxProgramFileBytes + 1).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(store_->BeginUpload(KeyOf("x"), (1 << 20) + 1).status().code(),
            absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(store_->Read("../x", 0, 1).status().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(ProgramStoreTest, UploadsUnderWayAreBounded) {
  std::vector<std::unique_ptr<ProgramStore::Upload>> uploads;
  for (int i = 0; i < ProgramStore::kMaxUploads; ++i) {
    auto upload = store_->BeginUpload(KeyOf("x"), 0);
    ASSERT_TRUE(upload.ok()) << upload.status();
    uploads.push_back(*std::move(upload));
  }
  EXPECT_EQ(store_->BeginUpload(KeyOf("x"), 0).status().code(),
            absl::StatusCode::kResourceExhausted);
  ASSERT_TRUE(uploads.back()->Commit().code() == absl::StatusCode::kInvalidArgument);
  EXPECT_TRUE(store_->BeginUpload(KeyOf("x"), 0).ok());  // a finished one counts no more
}

TEST_F(ProgramStoreTest, TheBuildIdOfAnElfFileIsItsKey) {
  std::ifstream self("/proc/self/exe", std::ios::binary);
  std::string bytes((std::istreambuf_iterator<char>(self)), std::istreambuf_iterator<char>());
  std::string build_id = MainExecutableBuildId();
  ASSERT_FALSE(build_id.empty());
  if (bytes.size() > (1 << 20)) {
    auto big = ProgramStore::Open(dir_ + "-big", 1 << 30);
    ASSERT_TRUE(big.ok());
    store_ = *std::move(big);
  }
  EXPECT_TRUE(Upload(build_id, bytes).ok());
  EXPECT_EQ(*store_->Read(build_id, 0, bytes.size()), bytes);
}

TEST_F(ProgramStoreTest, AProgramIsRecordedOnceTheHeadHasItsFiles) {
  ProgramManifest manifest;
  manifest.executable = {.key = KeyOf("exe"), .name = "prog", .size = 3};
  manifest.libraries = {{.key = KeyOf("lib-a"), .name = "liba.so", .size = 5},
                        {.key = KeyOf("lib-b"), .name = "libb.so", .size = 5}};
  std::string key = ProgramKey(manifest.executable, manifest.libraries);
  ASSERT_TRUE(Upload(KeyOf("lib-a"), "lib-a").ok());
  auto missing = store_->PutProgram(key, manifest);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_EQ(*missing, (std::vector<std::string>{KeyOf("exe"), KeyOf("lib-b")}));
  EXPECT_EQ(store_->FindProgram(key), nullptr);
  ASSERT_TRUE(Upload(KeyOf("exe"), "exe").ok());
  ASSERT_TRUE(Upload(KeyOf("lib-b"), "lib-b").ok());
  missing = store_->PutProgram(key, manifest);
  ASSERT_TRUE(missing.ok()) << missing.status();
  EXPECT_TRUE(missing->empty());
  ASSERT_NE(store_->FindProgram(key), nullptr);
  EXPECT_EQ(store_->FindProgram(key)->libraries[1].name, "libb.so");

  // A key that is not the files', bad names, unsorted libraries: refused.
  EXPECT_EQ(store_->PutProgram(KeyOf("exe") + ".0000000000000000", manifest).status().code(),
            absl::StatusCode::kInvalidArgument);
  ProgramManifest bad = manifest;
  bad.libraries[0].name = "../liba.so";
  EXPECT_FALSE(store_->PutProgram(ProgramKey(bad.executable, bad.libraries), bad).ok());
  bad = manifest;
  std::swap(bad.libraries[0], bad.libraries[1]);
  EXPECT_FALSE(store_->PutProgram(ProgramKey(bad.executable, bad.libraries), bad).ok());
  bad = manifest;
  bad.libraries[0].size = 6;  // not the size the head holds
  EXPECT_FALSE(store_->PutProgram(ProgramKey(bad.executable, bad.libraries), bad).ok());
}

}  // namespace
}  // namespace ray::cluster
