#include "ray/faults/fault_injection.h"

#include <signal.h>
#include <sys/mman.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

#include "absl/strings/str_cat.h"

namespace ray::faults {
namespace {

constexpr size_t kMaxPoints = 32;
constexpr size_t kMaxNameBytes = 47;

struct ArmedPoint {
  char name[kMaxNameBytes + 1];
  Action action;
  int32_t nth;
  std::atomic<int64_t> hits;  // shared by the processes forked after arming
};

// Lives in shared memory (MAP_SHARED), so that forks count hits together.
struct Table {
  size_t count;
  ArmedPoint points[kMaxPoints];
};
static_assert(std::atomic<int64_t>::is_always_lock_free);

Table* table = nullptr;

constexpr std::pair<Action, std::string_view> kNames[] = {
    {Action::kKill, "kill"},
    {Action::kStall, "stall"},
    {Action::kGarbage, "garbage"},
    {Action::kTruncate, "truncate"},
    {Action::kBogusLength, "bogus_length"},
    {Action::kOversize, "oversize"},
    {Action::kRefuse, "refuse"},
};

std::string_view Trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

// "point=action" or "point=action@N".
absl::Status ArmOne(std::string_view entry) {
  const std::string quoted = absl::StrCat("\"", std::string(entry), "\"");
  size_t equals = entry.find('=');
  if (equals == std::string_view::npos) return absl::InvalidArgumentError("no '=' in " + quoted);
  std::string_view point = Trim(entry.substr(0, equals));
  std::string_view action_name = Trim(entry.substr(equals + 1));
  int nth = 0;
  if (size_t at = action_name.find('@'); at != std::string_view::npos) {
    std::string_view count = action_name.substr(at + 1);
    auto [end, error] = std::from_chars(count.data(), count.data() + count.size(), nth);
    if (error != std::errc() || end != count.data() + count.size() || nth < 1) {
      return absl::InvalidArgumentError("bad count in " + quoted);
    }
    action_name = action_name.substr(0, at);
  }
  for (const auto& [action, name] : kNames) {
    if (name == action_name) return Arm(point, action, nth);
  }
  return absl::InvalidArgumentError("no such action in " + quoted +
                                    " (kill, stall, garbage, truncate, bogus_length, oversize, "
                                    "refuse)");
}

ArmedPoint* Find(std::string_view point) {
  if (table == nullptr) return nullptr;
  for (size_t i = 0; i < table->count; ++i) {
    if (point == table->points[i].name) return &table->points[i];
  }
  return nullptr;
}

// Reads RAY_TESTING_FAULTS once, as the process starts.
const bool armed_from_environment = [] {
  const char* spec = getenv("RAY_TESTING_FAULTS");
  if (spec == nullptr || *spec == '\0') return false;
  absl::Status status = ArmFromSpec(spec);
  if (!status.ok()) fprintf(stderr, "RAY_TESTING_FAULTS: %s\n", status.ToString().c_str());
  return status.ok();
}();

}  // namespace

namespace internal {

std::atomic<bool> armed{false};

Action Hit(std::string_view point) {
  ArmedPoint* armed_point = Find(point);
  if (armed_point == nullptr) return Action::kNone;
  int64_t hit = armed_point->hits.fetch_add(1, std::memory_order_relaxed) + 1;
  return armed_point->nth == 0 || hit == armed_point->nth ? armed_point->action : Action::kNone;
}

}  // namespace internal

std::string_view ActionName(Action action) {
  for (const auto& [a, name] : kNames) {
    if (a == action) return name;
  }
  return "none";
}

absl::Status Arm(std::string_view point, Action action, int nth) {
  if (point.empty() || point.size() > kMaxNameBytes) {
    return absl::InvalidArgumentError(absl::StrCat("fault point name \"", std::string(point),
                                                   "\" is empty or longer than ", kMaxNameBytes));
  }
  if (nth < 0) return absl::InvalidArgumentError(absl::StrCat("count ", nth, " below 0"));
  if (table == nullptr) {
    void* memory =
        mmap(nullptr, sizeof(Table), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (memory == MAP_FAILED) return absl::InternalError("mmap of the fault table failed");
    table = new (memory) Table{};
  }
  ArmedPoint* armed_point = Find(point);
  if (armed_point == nullptr) {
    if (table->count == kMaxPoints) {
      return absl::ResourceExhaustedError(absl::StrCat("more than ", kMaxPoints, " fault points"));
    }
    armed_point = &table->points[table->count++];
    std::memcpy(armed_point->name, point.data(), point.size());
    armed_point->name[point.size()] = '\0';
  }
  armed_point->action = action;
  armed_point->nth = nth;
  armed_point->hits.store(0);
  internal::armed.store(true);
  return absl::OkStatus();
}

absl::Status ArmFromSpec(std::string_view spec) {
  while (!spec.empty()) {
    size_t end = std::min(spec.find(';'), spec.size());
    if (std::string_view entry = Trim(spec.substr(0, end)); !entry.empty()) {
      if (absl::Status status = ArmOne(entry); !status.ok()) return status;
    }
    spec.remove_prefix(std::min(end + 1, spec.size()));
  }
  return absl::OkStatus();
}

void DisarmAll() {
  internal::armed.store(false);
  if (table != nullptr) munmap(table, sizeof(Table));
  table = nullptr;
}

int64_t Hits(std::string_view point) {
  ArmedPoint* armed_point = Find(point);
  return armed_point == nullptr ? 0 : armed_point->hits.load();
}

void Kill() {
  kill(getpid(), SIGKILL);
  StallForever();  // SIGKILL is on its way
}

void StallForever() {
  while (true) pause();
}

}  // namespace ray::faults
