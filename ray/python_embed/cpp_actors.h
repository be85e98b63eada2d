// The extension's side of C++ actors made from Python (ray.cpp_actor_class, python/ray/
// cross_language.py): a RAY_REMOTE'd factory (a function returning T* or std::unique_ptr<T>)
// makes the actor, and T's RAY_REMOTE'd methods ("Counter::Add") are called on it by the name
// after the class's ("Add"), with arguments and results as msgpack, as for ray.cpp_function
// (cross_language.h). The factory and the methods run in the library's copy of libray, on the
// actor state of this module's (ray/core_worker/actor_instance.h, UseActorStateOf).
#pragma once

#include <pybind11/pybind11.h>

namespace ray::python {

// Adds cpp_actor_factory, cpp_actor_method, submit_cpp_actor and submit_cpp_method to the
// module (after RegisterCrossLanguage).
void RegisterCppActors(pybind11::module_& m);

}  // namespace ray::python
