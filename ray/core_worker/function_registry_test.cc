#include "ray/core_worker/function_registry.h"

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "ray/common/library_version.h"

namespace ray::core {
namespace {

// The path of a test module in the runfiles.
std::string ModulePath(const std::string& name) {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  return absl::StrCat(srcdir ? srcdir : ".", "/", workspace ? workspace : "libray",
                      "/ray/core_worker/", name);
}

// The test module `name`, opened as a loader opens a user's library, and its table as read.
struct Module {
  std::string path;
  absl::StatusOr<std::span<const RegisteredFunction>> table;
};
Module Read(const std::string& name) {
  Module module{ModulePath(name), absl::UnknownError("not opened")};
  void* handle = dlopen(module.path.c_str(), RTLD_NOW | RTLD_LOCAL);
  EXPECT_NE(handle, nullptr) << dlerror();
  if (handle != nullptr) module.table = ReadRegisteredFunctions(handle, module.path);
  return module;
}

TEST(ReadRegisteredFunctionsTest, ReadsTheTableOfAModuleOfThisLibray) {
  auto [path, table] = Read("libfunction_registry_ours.so");
  ASSERT_TRUE(table.ok()) << table.status();
  ASSERT_EQ(table->size(), 1u);
  EXPECT_STREQ((*table)[0].name, "twice");
  EXPECT_EQ((*table)[0].num_args, 1u);
}

TEST(ReadRegisteredFunctionsTest, AnotherLayoutIsAnErrorNamingTheModuleAndBothVersions) {
  // The module's accessor aborts if called: the test getting past this means it was not.
  auto [path, table] = Read("libfunction_registry_other_layout.so");
  ASSERT_EQ(table.status().code(), absl::StatusCode::kFailedPrecondition) << table.status();
  const std::string message(table.status().message());
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("libray 9.8.7 (layout 999)"), std::string::npos) << message;
  EXPECT_NE(message.find(absl::StrFormat("this libray is %s (layout %d)", RAY_LIBRARY_VERSION,
                                         kRegisteredFunctionsLayout)),
            std::string::npos)
      << message;
}

TEST(ReadRegisteredFunctionsTest, ATableWithoutAStampIsAnError) {
  auto [path, table] = Read("libfunction_registry_unstamped.so");
  ASSERT_EQ(table.status().code(), absl::StatusCode::kFailedPrecondition) << table.status();
  const std::string message(table.status().message());
  EXPECT_NE(message.find(path), std::string::npos) << message;
  EXPECT_NE(message.find("no layout stamp"), std::string::npos) << message;
  EXPECT_NE(message.find(RAY_LIBRARY_VERSION), std::string::npos) << message;
}

TEST(ReadRegisteredFunctionsTest, AModuleWithoutATableHasNoFunctions) {
  // The C library: no table, no stamp.
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_LOCAL);
  ASSERT_NE(libc, nullptr) << dlerror();
  absl::StatusOr<std::span<const RegisteredFunction>> table =
      ReadRegisteredFunctions(libc, "libc.so.6");
  ASSERT_TRUE(table.ok()) << table.status();
  EXPECT_TRUE(table->empty());
}

}  // namespace
}  // namespace ray::core
