// libray's public C++ API: the one header a program includes (Bazel target //ray:ray).
//
//   #include "ray/api.h"
//
//   int add(int a, int b) { return a + b; }     // any plain function: no registration
//
//   int main() {
//     ray::Init({.num_workers = 10});           // or {.local_mode = true} to debug in-process
//     ray::ObjectRef<int> x = ray::Remote(add)(1, 2);   // a task; returns at once
//     int three = x.Get();                      // waits for it
//     auto y = ray::Remote(add)(x, 10);         // an ObjectRef argument: a dependency
//     auto v = ray::Put(std::vector<double>(1000, 1.0));
//     ray::ArrayView<double> view = ray::GetView(v);   // no copy: store memory
//     auto [ready, rest] = ray::Wait(std::vector{x, y}, 1, absl::Seconds(1));
//     ray::VisualizeComputationGraph("graph.svg");
//     ray::Shutdown();                          // also happens at exit
//   }
//
// What is in it:
//   ray/api/init.h        Init, Shutdown, IsInitialized; InitOptions (ray/api/options.h)
//   ray/api/graph.h       VisualizeComputationGraph, Timeline
//   ray/api/object_ref.h  ObjectRef<T>, Put, Get, GetView, Wait, WaitResult<T>
//   ray/api/remote.h      Remote(f), Task(f), RemoteFunction, TaskOptions
//   ray/api/actor.h       Actor(factory), ActorHandle<T>, ActorOptions: stateful workers
//   ray/api/returns.h     Returns<T...>: several typed results
//   ray/api/ray_remote.h  RAY_REMOTE(f): C++ functions that Python calls by name
//   ray/api/errors.h      RayError, TaskError, WorkerCrashedError, ActorDiedError, GetTimeoutError,
//                         ObjectStoreFullError, ObjectLostError
//   ray/api/values.h      what values can be (RAY_SERIALIZABLE, RAY_RAW_ELEMENT, ArrayView,
//                         ByteBuffer); docs/API.md lists the types
//   ray/api/version.h     Version(): the library's version
// Timeouts (Get, GetView, Wait) are absl::Durations or std::chrono durations (ray::Timeout).
#pragma once

#include "ray/api/actor.h"       // IWYU pragma: export
#include "ray/api/cluster.h"     // IWYU pragma: export
#include "ray/api/errors.h"      // IWYU pragma: export
#include "ray/api/graph.h"       // IWYU pragma: export
#include "ray/api/init.h"        // IWYU pragma: export
#include "ray/api/object_ref.h"  // IWYU pragma: export
#include "ray/api/options.h"     // IWYU pragma: export
#include "ray/api/ray_remote.h"  // IWYU pragma: export
#include "ray/api/remote.h"      // IWYU pragma: export
#include "ray/api/returns.h"     // IWYU pragma: export
#include "ray/api/values.h"      // IWYU pragma: export
#include "ray/api/version.h"     // IWYU pragma: export
