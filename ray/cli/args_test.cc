#include "ray/cli/args.h"

#include <gtest/gtest.h>

namespace ray::cli {
namespace {

TEST(ArgsTest, CommandFlagsAndBools) {
  auto args =
      ParseArgs({"start", "--head", "--port=0", "--num_cpus", "4", "--block"}, {"head", "block"});
  ASSERT_TRUE(args.ok()) << args.status();
  EXPECT_EQ(args->command, "start");
  EXPECT_EQ(args->flags.at("head"), "true");
  EXPECT_EQ(args->flags.at("port"), "0");
  EXPECT_EQ(args->flags.at("num-cpus"), "4");
  EXPECT_FALSE(ParseArgs({"start", "--port"}, {}).ok());
  EXPECT_FALSE(ParseArgs({"start", "stop"}, {}).ok());
}

TEST(ArgsTest, Resources) {
  auto resources = ParseResources(R"({"gpu_box": 1, "b" : 2.5 })");
  ASSERT_TRUE(resources.ok()) << resources.status();
  EXPECT_EQ(*resources, (std::map<std::string, double>{{"gpu_box", 1}, {"b", 2.5}}));
  EXPECT_TRUE(ParseResources("{}")->empty());
  for (const char* bad : {"", "{", R"({"a": x})", R"({"a": -1})", R"({a: 1})", R"({"a": 1} x)"}) {
    EXPECT_FALSE(ParseResources(bad).ok()) << bad;
  }
}

}  // namespace
}  // namespace ray::cli
