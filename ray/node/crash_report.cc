#include "ray/node/crash_report.h"

#include <execinfo.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <limits>
#include <new>
#include <string_view>

#include "absl/debugging/symbolize.h"
#include "ray/common/stable_hash.h"

namespace ray::core {
namespace {

// Tasks that crashed a process of this node (keys, see TaskKey), shared by the zygote's children.
struct CrashedTasks {
  static constexpr uint32_t kSlots = 256;
  std::atomic<uint64_t> keys[kSlots];
  std::atomic<uint32_t> next;
};
static_assert(std::atomic<uint64_t>::is_always_lock_free, "atomics in shared memory");

// Signal handlers can reach only globals. Set before the handler is installed, except
// `running_task`, which each thread that runs tasks moves as it runs them (a crash is reported on
// the thread that crashed: an actor's call threads each run a call).
CrashedTasks* crashed_tasks = nullptr;
const char* process_name = "process";
thread_local std::atomic<const RunningTaskForCrashReport*> running_task{nullptr};

uint64_t TaskKey(const TaskID& task) {
  return Fnv1aHash(task.Binary()) | 1;  // 0 marks an empty slot
}

// Records `task` as crashed; false if it had crashed before.
bool FirstCrashOf(const TaskID& task) {
  if (crashed_tasks == nullptr) return true;
  const uint64_t key = TaskKey(task);
  for (const std::atomic<uint64_t>& slot : crashed_tasks->keys) {
    if (slot.load() == key) return false;
  }
  // A task runs in one process at a time, so no other process records this key meanwhile.
  crashed_tasks->keys[crashed_tasks->next.fetch_add(1) % CrashedTasks::kSlots].store(key);
  return true;
}

// A line of the report, built in place (no allocation) and written with one write(2).
class ReportLine {
 public:
  ReportLine& operator<<(std::string_view text) {
    size_t n = std::min(text.size(), sizeof(buffer_) - 1 - size_);
    std::memcpy(buffer_ + size_, text.data(), n);
    size_ += n;
    return *this;
  }
  ReportLine& operator<<(int64_t number) {
    char digits[24];
    size_t n = 0;
    uint64_t magnitude = number < 0 ? 0 - static_cast<uint64_t>(number) : number;
    do {
      digits[sizeof(digits) - 1 - n++] = static_cast<char>('0' + magnitude % 10);
      magnitude /= 10;
    } while (magnitude != 0);
    if (number < 0) digits[sizeof(digits) - 1 - n++] = '-';
    return *this << std::string_view(digits + sizeof(digits) - n, n);
  }
  ReportLine& Hex(const uint8_t* bytes, size_t size) {
    static constexpr char kDigits[] = "0123456789abcdef";
    for (size_t i = 0; i < size; ++i) {
      const char pair[2] = {kDigits[bytes[i] >> 4], kDigits[bytes[i] & 15]};
      *this << std::string_view(pair, 2);
    }
    return *this;
  }
  ReportLine& Address(const void* address) {
    static constexpr char kDigits[] = "0123456789abcdef";
    char text[2 + 16] = {'0', 'x'};
    uintptr_t value = reinterpret_cast<uintptr_t>(address);
    for (int i = 0; i < 16; ++i) text[17 - i] = kDigits[(value >> (4 * i)) & 15];
    return *this << std::string_view(text, sizeof(text));
  }
  // Writes the line and a newline to stderr.
  void Write() {
    buffer_[size_++] = '\n';
    for (size_t done = 0; done < size_;) {
      ssize_t n = write(STDERR_FILENO, buffer_ + done, size_ - done);
      if (n <= 0) {
        if (n < 0 && errno == EINTR) continue;
        return;
      }
      done += n;
    }
  }

 private:
  char buffer_[1024];
  size_t size_ = 0;
};

const char* SignalName(int signal) {
  switch (signal) {
    case SIGSEGV:
      return "SIGSEGV";
    case SIGBUS:
      return "SIGBUS";
    case SIGFPE:
      return "SIGFPE";
    case SIGILL:
      return "SIGILL";
    case SIGABRT:
      return "SIGABRT";
    default:
      return "a signal";
  }
}

const void* FaultAddress(void* context) {
#if defined(__x86_64__)
  return reinterpret_cast<const void*>(
      static_cast<ucontext_t*>(context)->uc_mcontext.gregs[REG_RIP]);
#elif defined(__aarch64__)
  return reinterpret_cast<const void*>(static_cast<ucontext_t*>(context)->uc_mcontext.pc);
#else
  return nullptr;
#endif
}

// The frames from where the signal came (the handler and the kernel's trampoline dropped) down
// to the worker's entry point.
void WriteStack(void* context) {
  void* frames[64];
  const int count = backtrace(frames, 64);
  const void* fault = FaultAddress(context);
  int first = 1;  // without the fault's address: all but this function
  for (int i = 0; i < count; ++i) {
    if (frames[i] == fault) {
      first = i;
      break;
    }
  }
  for (int i = first; i < count; ++i) {
    // Other frames hold return addresses: the call is the instruction before.
    const char* pc = static_cast<const char*>(frames[i]) - (i == first ? 0 : 1);
    char symbol[512] = "";
    ReportLine line;
    line << "    @ ";
    line.Address(frames[i]);
    line << "  " << (absl::Symbolize(pc, symbol, sizeof(symbol)) ? symbol : "(unknown)");
    line.Write();
    // Below the worker's entry point lie the zygote and the driver's code up to ray::Init.
    if (std::string_view(symbol).starts_with("ray::core::RunWorker(")) break;
  }
}

// What the scheduler does next with the task.
void AppendRetryNote(const RunningTaskForCrashReport& task, ReportLine& line) {
  // max_retries = -1 reaches the scheduler as the largest int (ray/core_worker/limits.h), counted
  // down by one per retry: still above half of it after a billion crashes.
  if (task.retries_left() == RunningTaskForCrashReport::kActorDecides) {
    line << "the actor restarts and the call runs again if its max_restarts and "
            "max_task_retries allow; else the call fails with ray::ActorDiedError";
  } else if (task.retries_left() > std::numeric_limits<int>::max() / 2) {
    line << "the task will be retried (max_retries = -1: no limit)";
  } else if (task.retries_left() > 0) {
    line << "the task will be retried (" << int64_t{task.retries_left()}
         << (task.retries_left() == 1 ? " retry left)" : " retries left)");
  } else {
    line << "no retries left: the task fails with ray::WorkerCrashedError";
  }
}

void ReportCrash(int sig, siginfo_t*, void* context) {
  static std::atomic<bool> reporting{false};
  if (reporting.exchange(true)) {
    while (true) pause();  // another thread reports, and ends the process
  }
  const RunningTaskForCrashReport* task = running_task.load();
  const bool first = task == nullptr || FirstCrashOf(task->task());
  ReportLine head;
  head << "*** " << process_name << " (pid " << int64_t{getpid()} << ") crashed "
       << (first ? "" : "again ") << "with " << SignalName(sig);
  if (task != nullptr) {
    head << " in task " << task->name() << " (task ";
    head.Hex(task->task().data(), TaskID::kSize) << ")";
  }
  if (first) {
    head << "; stack:";
    head.Write();
    WriteStack(context);
    if (task != nullptr) {
      ReportLine note;
      note << "*** ";
      AppendRetryNote(*task, note);
      note.Write();
    }
  } else {
    head << ", as at its first crash above; ";
    AppendRetryNote(*task, head);
    head.Write();
  }
  signal(sig, SIG_DFL);
  raise(sig);  // delivered when the handler returns
}

}  // namespace

RunningTaskForCrashReport::RunningTaskForCrashReport(const std::string& name, const TaskID& task,
                                                     int retries_left)
    : name_(name), task_(task), retries_left_(retries_left), outer_(running_task.exchange(this)) {}

RunningTaskForCrashReport::~RunningTaskForCrashReport() { running_task.store(outer_); }

void PrepareCrashReports() {
  void* shared = mmap(nullptr, sizeof(CrashedTasks), PROT_READ | PROT_WRITE,
                      MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (shared != MAP_FAILED) crashed_tasks = new (shared) CrashedTasks{};
  void* frames[1];
  backtrace(frames, 1);  // loads the unwinder (libgcc_s) now: not async-signal-safe
}

void InstallCrashReporter(const char* process) {
  process_name = process;
  // Its own stack, so that a stack overflow is reported too.
  constexpr size_t kStackSize = 256 << 10;
  void* stack =
      mmap(nullptr, kStackSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (stack != MAP_FAILED) {
    stack_t alternate{};
    alternate.ss_sp = stack;
    alternate.ss_size = kStackSize;
    sigaltstack(&alternate, nullptr);
  }
  struct sigaction action {};
  action.sa_sigaction = &ReportCrash;
  action.sa_flags = SA_SIGINFO | SA_ONSTACK;
  sigemptyset(&action.sa_mask);
  for (int signal : {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGABRT}) sigaction(signal, &action, nullptr);
}

}  // namespace ray::core
