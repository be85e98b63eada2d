// Crash reports of the processes the zygote forks. A worker that dies of SIGSEGV, SIGBUS, SIGFPE,
// SIGILL or SIGABRT prints, on the stderr it shares with the driver:
//
//   *** ray::worker (pid 4242) crashed with SIGSEGV in task crash_now (task 9f2c...); stack:
//       @ 0x55d1c2a0f123  CrashNow()
//       @ 0x55d1c2a10456  ray::internal::InvokerOf<>::Run()
//       ...
//   *** the task will be retried (3 retries left)
//
// and then dies of the same signal (the scheduler retries the task, or fails it with
// ray::WorkerCrashedError when no retries are left). A task that crashes every time prints its
// stack once: a later crash of the same task (its retries keep its task ID) prints one line,
//
//   *** ray::worker (pid 4250) crashed again with SIGSEGV in task crash_now (task 9f2c...), as at
//       its first crash above; the task will be retried (2 retries left)
//
// How a process knows that a task crashed before: the zygote maps a small table, shared with
// every process it forks, before it forks any (PrepareCrashReports); a crashing worker records
// its task there with lock-free atomics. The table remembers the last 256 crashed tasks.
//
// Everything the signal handler does is async-signal-safe: it reads memory, writes with
// write(2), unwinds with backtrace(3) (loaded beforehand) and names frames with
// absl::Symbolize.
#pragma once

#include <string>

#include "ray/common/id.h"

namespace ray::core {

// In the zygote, before it forks anything: maps the table of crashed tasks and loads what the
// handler needs.
void PrepareCrashReports();

// In a process the zygote forked: installs the handler. `process` names the process in the
// report ("ray::worker", "ray::store"); it must live as long as the process.
void InstallCrashReporter(const char* process);

// The task the worker runs, for a crash report, from construction to destruction. Scopes nest
// (a task run inside another's ray::Get is reported, then the outer one again). `name` and the
// scope must outlive each other's use: the report reads `name` in place.
class RunningTaskForCrashReport {
 public:
  // `retries_left`: the task's maxRetries as the scheduler sent it (retries not used yet), or
  // kActorDecides for an actor's creation or call (its options and restarts left decide).
  static constexpr int kActorDecides = -1;
  RunningTaskForCrashReport(const std::string& name, const TaskID& task, int retries_left);
  ~RunningTaskForCrashReport();
  RunningTaskForCrashReport(const RunningTaskForCrashReport&) = delete;
  RunningTaskForCrashReport& operator=(const RunningTaskForCrashReport&) = delete;

  const std::string& name() const { return name_; }
  const TaskID& task() const { return task_; }
  int retries_left() const { return retries_left_; }

 private:
  const std::string& name_;
  const TaskID task_;
  const int retries_left_;
  const RunningTaskForCrashReport* const outer_;
};

}  // namespace ray::core
