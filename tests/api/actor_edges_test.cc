// C++ actors at the edges of their contract, with real worker processes: handles held deep
// inside values (pairs, optionals, maps, structs) keep their actors alive; a call on an empty
// handle is refused at once; factories returning a T that cannot move, or a shared_ptr, make
// actors; ray::ExitActor frees the name at once and works only on a thread running a call; a
// creation whose argument failed says why.
#include <gtest/gtest.h>
#include <unistd.h>

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "ray/api.h"

namespace {

class Tally {
 public:
  int Add(int x) { return value_ += x; }
  // ray::ExitActor from a thread this call starts: what it threw, as text.
  std::string ExitFromAThreadOfItsOwn() {
    std::string outcome = "returned";
    std::thread([&] {
      try {
        ray::ExitActor();
      } catch (const ray::RayError& e) {
        outcome = std::string("RayError: ") + e.what();
      } catch (...) {
        outcome = "something other than a RayError";
      }
    }).join();
    return outcome;
  }
  int Leave() { ray::ExitActor(); }

 private:
  int value_ = 0;
};
Tally* MakeTally() { return new Tally; }
int Fail() { throw std::runtime_error("no start value today"); }
Tally* MakeTallyFrom(int) { return new Tally; }

// A class that can neither move nor be copied (it holds a mutex), made by value.
class Guarded {
 public:
  explicit Guarded(int start) : value_(start) {}
  int Add(int x) {
    std::lock_guard lock(mu_);
    return value_ += x;
  }

 private:
  std::mutex mu_;
  int value_;
};
Guarded MakeGuarded(int start) { return Guarded(start); }
std::shared_ptr<Tally> MakeSharedTally() { return std::make_shared<Tally>(); }

// A struct holding a handle among its fields.
struct Team {
  std::string name;
  ray::ActorHandle<Tally> tally;
  RAY_SERIALIZABLE(name, tally);
};

// Makes an actor in a task and returns it inside an optional: the task's process and its own
// handle are gone when the caller reads it.
std::optional<ray::ActorHandle<Tally>> MakeInsideAnOptional() {
  auto tally = ray::Actor(MakeTally).Remote();
  tally.Task(&Tally::Add).Remote(1).Get();
  return tally;
}
// Adds through the handle inside `team`.
int AddThroughTeam(std::pair<int, ray::ActorHandle<Tally>> team) {
  return team.second.Task(&Tally::Add).Remote(team.first).Get();
}

class ActorEdgesTest : public ::testing::Test {
 protected:
  void SetUp() override { ray::Init({.num_workers = 2, .object_store_memory = 64 << 20}); }
  void TearDown() override { ray::Shutdown(); }
};

TEST_F(ActorEdgesTest, AHandleDeepInsideAValueKeepsItsActorAlive) {
  // Before, only a bare handle or a vector of them counted: the actor ended with its last
  // handle outside the value, and the value's handle named a dead actor.
  ray::ObjectRef<std::pair<int, ray::ActorHandle<Tally>>> in_pair;
  ray::ObjectRef<std::map<std::string, ray::ActorHandle<Tally>>> in_map;
  ray::ObjectRef<Team> in_struct;
  {
    auto a = ray::Actor(MakeTally).Remote();
    auto b = ray::Actor(MakeTally).Remote();
    auto c = ray::Actor(MakeTally).Remote();
    ASSERT_EQ(a.Task(&Tally::Add).Remote(1).Get(), 1);
    ASSERT_EQ(b.Task(&Tally::Add).Remote(1).Get(), 1);
    ASSERT_EQ(c.Task(&Tally::Add).Remote(1).Get(), 1);
    in_pair = ray::Put(std::make_pair(7, a));
    in_map = ray::Put(std::map<std::string, ray::ActorHandle<Tally>>{{"b", b}});
    in_struct = ray::Put(Team{"c", c});
  }  // the handles outside the objects are gone
  EXPECT_EQ(in_pair.Get().second.Task(&Tally::Add).Remote(1).Get(), 2);
  EXPECT_EQ(in_map.Get().at("b").Task(&Tally::Add).Remote(1).Get(), 2);
  EXPECT_EQ(in_struct.Get().tally.Task(&Tally::Add).Remote(1).Get(), 2);

  // Returned inside an optional by a task that made it.
  std::optional<ray::ActorHandle<Tally>> made = ray::Remote(MakeInsideAnOptional)().Get();
  ASSERT_TRUE(made.has_value());
  EXPECT_EQ(made->Task(&Tally::Add).Remote(1).Get(), 2);

  // Passed inside a pair to a task, the caller's own handle dropped at once.
  ray::ObjectRef<int> added;
  {
    auto d = ray::Actor(MakeTally).Remote();
    added = ray::Remote(AddThroughTeam)(std::make_pair(5, d));
  }
  EXPECT_EQ(added.Get(), 5);
}

TEST_F(ActorEdgesTest, ACallOnAnEmptyHandleIsRefusedAtOnce) {
  // Before, it went out as a plain task and failed on a pool worker that serves no actor.
  ray::ActorHandle<Tally> empty;
  try {
    empty.Task(&Tally::Add).Remote(1);
    FAIL() << "a call on an empty handle was accepted";
  } catch (const ray::RayError& e) {
    EXPECT_NE(std::string(e.what()).find("empty ActorHandle"), std::string::npos) << e.what();
  }
}

TEST_F(ActorEdgesTest, FactoriesReturningAnImmovableTOrASharedPtrMakeActors) {
  auto guarded = ray::Actor(MakeGuarded).Remote(3);
  EXPECT_EQ(guarded.Task(&Guarded::Add).Remote(4).Get(), 7);
  auto shared = ray::Actor(MakeSharedTally).Remote();
  EXPECT_EQ(shared.Task(&Tally::Add).Remote(2).Get(), 2);
}

TEST_F(ActorEdgesTest, ExitActorFreesTheNameByTheTimeTheCallerSeesItsCallFail) {
  auto first = ray::Actor(MakeTally).Options({.name = "solo"}).Remote();
  ASSERT_EQ(first.Task(&Tally::Add).Remote(1).Get(), 1);
  EXPECT_THROW(first.Task(&Tally::Leave).Remote().Get(), ray::ActorDiedError);
  // Before, the name stayed taken (and GetActor found the dead actor) until its process ended.
  EXPECT_FALSE(ray::GetActor<Tally>("solo").has_value());
  auto second = ray::Actor(MakeTally).Options({.name = "solo"}).Remote();
  EXPECT_EQ(second.Task(&Tally::Add).Remote(5).Get(), 5);
  EXPECT_EQ(ray::GetActor<Tally>("solo")->Task(&Tally::Add).Remote(1).Get(), 6);
}

TEST_F(ActorEdgesTest, ExitActorOnAThreadACallStartedIsARayErrorAndTheActorLivesOn) {
  // Before, it threw an internal type there (std::terminate if uncaught) and the actor ended
  // after its next, unrelated call.
  auto tally = ray::Actor(MakeTally).Remote();
  const std::string outcome = tally.Task(&Tally::ExitFromAThreadOfItsOwn).Remote().Get();
  EXPECT_NE(outcome.find("RayError: ray::ExitActor: not on a thread running"), std::string::npos)
      << outcome;
  for (int i = 1; i <= 3; ++i) EXPECT_EQ(tally.Task(&Tally::Add).Remote(1).Get(), i);
}

TEST_F(ActorEdgesTest, ACreationWhoseArgumentFailedSaysWhy) {
  auto tally = ray::Actor(MakeTallyFrom).Remote(ray::Remote(Fail)());
  try {
    tally.Task(&Tally::Add).Remote(1).Get();
    FAIL() << "an actor whose argument failed answered";
  } catch (const ray::ActorDiedError& e) {
    EXPECT_NE(std::string(e.what()).find("its creation failed"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("no start value today"), std::string::npos) << e.what();
  }
}

TEST_F(ActorEdgesTest, ResourceOptionErrorsNameActor) {
  try {
    ray::Actor(MakeTally).Options({.resources = {{"box", -1}}}).Remote();
    FAIL() << "a negative resource was accepted";
  } catch (const ray::RayError& e) {
    EXPECT_NE(std::string(e.what()).find("ray::Actor("), std::string::npos) << e.what();
    EXPECT_EQ(std::string(e.what()).find("ray::Remote("), std::string::npos) << e.what();
  }
}

}  // namespace
