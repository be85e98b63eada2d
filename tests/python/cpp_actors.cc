// C++ actor classes that test_cross_language_actors.py makes with ray.cpp_actor_class: a shared
// library (libcpp_actors.so) that ray.init(code_search_path=[...]) loads.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "ray/api.h"

class Counter {
 public:
  Counter(int start, std::string goodbye_path)
      : value_(start), goodbye_path_(std::move(goodbye_path)) {}
  virtual ~Counter() {
    if (goodbye_path_.empty()) return;
    // Written whole, then renamed: a reader sees all of it or nothing.
    const std::string tmp = goodbye_path_ + ".tmp";
    if (FILE* f = std::fopen(tmp.c_str(), "w")) {
      std::fprintf(f, "value %d", value_);
      std::fclose(f);
      std::rename(tmp.c_str(), goodbye_path_.c_str());
    }
  }

  int Add(int x) { return value_ += x; }
  int Value() const { return value_; }
  // Adds another actor's value: a handle passed from Python.
  int AddFrom(ray::ActorHandle<Counter> other) {
    return Add(other.Task(&Counter::Value).Remote().Get());
  }
  int AddOrThrow(int x) {
    if (x < 0) throw std::invalid_argument("negative: " + std::to_string(x));
    return Add(x);
  }
  std::string Describe(const std::string& label) const {
    return label + "=" + std::to_string(value_);
  }
  ray::Returns<int, std::string> Split() const {
    return {value_ / 10, std::to_string(value_ % 10)};
  }
  std::vector<double> Scaled(std::vector<double> values) const {
    for (double& v : values) v *= value_;
    return values;
  }
  void Reset() { value_ = 0; }
  int Pid() const { return getpid(); }
  std::string Node() const { return ray::GetRuntimeContext().GetNodeId(); }
  virtual std::string Kind() const { return "counter"; }
  // The ray API of actors, from the library's copy of libray.
  void Exit() { ray::ExitActor(); }
  bool Restarted() const { return ray::WasCurrentActorRestarted(); }

 private:
  int value_;
  std::string goodbye_path_;
};

class LoudCounter : public Counter {
 public:
  using Counter::Counter;
  std::string Kind() const override { return "loud"; }
};

class Other {
 public:
  int Get() const { return 1; }
};

Counter* CreateCounter(int start) { return new Counter(start, ""); }
std::unique_ptr<Counter> CreateLoud(int start, std::string goodbye_path) {
  return std::make_unique<LoudCounter>(start, std::move(goodbye_path));
}
Counter* FailToCreate() { throw std::runtime_error("no counter today"); }
Other* CreateOther() { return new Other; }
int NotAFactory(int x) { return x; }
// C++ code calling C++ actors that Python made: through a handle passed from Python, and found
// by name.
int AddThrough(ray::ActorHandle<Counter> counter, int x) {
  return counter.Task(&Counter::Add).Remote(x).Get();
}
int AddToNamed(std::string name, int x) {
  std::optional<ray::ActorHandle<Counter>> found = ray::GetActor<Counter>(name);
  return found ? found->Task(&Counter::Add).Remote(x).Get() : -1;
}

RAY_REMOTE(CreateCounter, CreateLoud, FailToCreate, &Counter::Add, &Counter::Value,
           &Counter::AddOrThrow, &Counter::Describe, &Counter::Split, &Counter::Scaled,
           &Counter::Reset, &Counter::Pid, &Counter::Kind, &Counter::Exit, &Counter::Restarted,
           &Counter::Node);
RAY_REMOTE(CreateOther, &Other::Get, NotAFactory, AddToNamed, AddThrough, &Counter::AddFrom);
