// ray::Actor / ray::ActorHandle: stateful workers. Any factory function makes an actor (one
// returning T, T*, std::unique_ptr<T> or std::shared_ptr<T>); any member function of T is a
// method, checked at compile time as ray::Remote checks functions. No registration. Part of the
// public API (ray/api.h).
//
//   Counter* MakeCounter(int start) { return new Counter(start); }
//   ray::ActorHandle<Counter> c = ray::Actor(MakeCounter).Remote(10);
//   ray::ObjectRef<int> r = c.Task(&Counter::Add).Remote(5);
//
// The actor lives in a worker process of its own, which runs nothing else; calls from one
// caller run there in the order they were submitted (a call waiting for an ObjectRef argument
// waits alone). It ends, its destructor running in that process, when the last handle to it
// is gone and its calls are done, or at ray::Shutdown.
#pragma once

#include <array>
#include <cstdint>
#include <cstring>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <type_traits>
#include <utility>

#include "ray/api/internal/remote_call.h"
#include "ray/api/object_ref.h"
#include "ray/api/options.h"
#include "ray/api/remote.h"
#include "ray/core_worker/actor_instance.h"

namespace ray {

enum class ActorLifetime { kNonDetached, kDetached };

// ray::Actor(f).Options({.name = "c", .max_restarts = 1}); fields in this order.
struct ActorOptions {
  // Finds it with ray::GetActor<T>(name) (within this session). A name in use: Remote() throws
  // RayError (or, when another creation takes it meanwhile, the calls throw ActorDiedError
  // saying so). Free again once the actor is dead.
  std::string name;
  // CPUs the actor holds for its life (its creation waits for at least one free CPU): >= 0.
  double num_cpus = 0;
  // Custom resources it holds for its life: it is placed on a node that has them free (in a
  // cluster, any node). No node with them in its total: its calls throw ActorDiedError saying so.
  std::map<std::string, double> resources;
  // Times its process may die and the factory run again (its state starts over); -1: always.
  int max_restarts = 0;
  // Re-runs of a call that was running when its process died, while the actor restarts; -1:
  // always.
  int max_task_retries = 0;
  // Calls it runs at once, each on a thread of its own (1 to 10000): past 1, calls from one
  // caller start in order but may end in any order.
  int max_concurrency = 1;
  ActorLifetime lifetime = ActorLifetime::kNonDetached;
};

namespace internal {
// The spec of an actor's creation by `function`, made with `options` (checked, and the name
// free: RayError otherwise), of class `type`; the task named `task_name` ("": the function's).
// Errors name `api`, the caller's API ("": ray::Actor(<function>)). The caller adds the invoker
// and the arguments.
core::TaskSpec ActorCreationSpec(core::CoreRuntime& runtime, const ActorOptions& options,
                                 const void* function, std::string type, std::string task_name = "",
                                 const std::string& api = "");
}  // namespace internal

template <typename T>
class ActorHandle;
// A Python actor (ray/api/py_actor.h): ActorHandle<PyActor>, its methods called by name.
struct PyActor;
template <typename R>
class PyActorMethod;
template <typename R>
class PyActorCall;

namespace internal {

// The class an actor factory makes: T for T, T*, std::unique_ptr<T> and std::shared_ptr<T>.
template <typename R>
struct ActorTypeOf {
  using type = std::remove_cvref_t<R>;
};
template <typename T>
struct ActorTypeOf<T*> {
  using type = T;
};
template <typename T, typename D>
struct ActorTypeOf<std::unique_ptr<T, D>> {
  using type = T;
};
template <typename T>
struct ActorTypeOf<std::shared_ptr<T>> {
  using type = T;
};

// Runs the factory (`make()`, which returns an R) and owns what it made as the actor's
// instance. A T returned by value is constructed in place (it need not be movable).
template <typename T, typename R, typename Make>
std::shared_ptr<void> OwnActor(Make&& make) {
  using D = std::remove_cvref_t<R>;
  if constexpr (std::is_same_v<D, T>) {
    return std::shared_ptr<T>(new T(make()));
  } else {
    D made = make();  // a T*, unique_ptr<T> or shared_ptr<T>
    if (made == nullptr) throw RayError("the actor's factory returned a null pointer");
    if constexpr (std::is_pointer_v<D>) {
      return std::shared_ptr<T>(made);
    } else {
      return std::shared_ptr<T>(std::move(made));
    }
  }
}

// Runs an actor's factory in its worker: the instance becomes the process's actor, and the
// creation's return (the handle's object) is T's type name.
template <typename Fn, typename... S>
struct ActorFactoryInvoker;
template <typename R, typename... P, typename... S>
struct ActorFactoryInvoker<R (*)(P...), S...> {
  using T = typename ActorTypeOf<R>::type;

  static absl::Status Run(const void* function, std::span<const core::ObjectValue> args,
                          core::ReturnWriter& returns) {
    try {
      auto f = reinterpret_cast<R (*)(P...)>(const_cast<void*>(function));
      Make(f, function, args, std::index_sequence_for<P...>{});
      WriteReturn(0, TypeName<T>(), returns);
      return absl::OkStatus();
    } catch (...) {
      return CurrentExceptionStatus();
    }
  }

 private:
  template <size_t... I>
  static void Make(R (*f)(P...), [[maybe_unused]] const void* function,
                   [[maybe_unused]] std::span<const core::ObjectValue> args,
                   std::index_sequence<I...>) {
    size_t next = 0;
    std::tuple<ArgHolder<S>...> held{ReadNextArg<S>(args, &next, I, function)...};
    if (next != args.size()) ThrowArity(function, args.size(), next);
    core::SetActorInstance(
        OwnActor<T, R>([&]() -> R { return f(PassArg<P>(std::get<I>(held))...); }), TypeName<T>(),
        ObjectID::ForReturn(Runtime("an actor's creation").CurrentTaskId(), 1));
  }
};

// A member function's class, result and parameters (const, noexcept or neither).
template <typename M>
struct MethodTraits;
template <typename C, typename R, typename... P>
struct MethodTraits<R (C::*)(P...)> {
  using Class = C;
  using Function = R (*)(P...);  // the plain function of the same shape, for the checks
};
template <typename C, typename R, typename... P>
struct MethodTraits<R (C::*)(P...) const> : MethodTraits<R (C::*)(P...)> {};
template <typename C, typename R, typename... P>
struct MethodTraits<R (C::*)(P...) noexcept> : MethodTraits<R (C::*)(P...)> {};
template <typename C, typename R, typename... P>
struct MethodTraits<R (C::*)(P...) const noexcept> : MethodTraits<R (C::*)(P...)> {};

// A member function pointer as g++ and clang lay it out on x86-64 (the Itanium C++ ABI): `ptr`
// is the function's address, or 1 + its offset in the vtable for a virtual one; `adj` adjusts
// `this`. A call names the method by these: the address as functions are named (by module and
// offset, the same in every process of the program), a vtable offset as it is.
struct MethodWords {
  uintptr_t ptr;
  ptrdiff_t adj;
};
template <typename M>
MethodWords WordsOf(M method) {
  static_assert(sizeof(M) == sizeof(MethodWords), "an ABI whose member pointers are not 2 words");
  MethodWords words;
  std::memcpy(&words, &method, sizeof(words));
  return words;
}
template <typename M>
M MethodOf(MethodWords words) {
  M method;
  std::memcpy(&method, &words, sizeof(method));
  return method;
}
inline bool IsVirtual(MethodWords words) { return (words.ptr & 1) != 0; }

// Runs a method of the process's actor (a T), writing its results in format F. `function` is a
// non-virtual one's address; with kNamedByWords, its first argument says which method instead
// (MethodWords: a virtual one's vtable offset, or an `adj` that is not 0).
template <typename T, typename M, bool kNamedByWords, ReturnFormat F, typename Fn, typename... S>
struct MethodInvokerOf;
template <typename T, typename M, bool kNamedByWords, ReturnFormat F, typename R, typename... P,
          typename... S>
struct MethodInvokerOf<T, M, kNamedByWords, F, R (*)(P...), S...> {
  static absl::Status Run(const void* function, std::span<const core::ObjectValue> args,
                          core::ReturnWriter& returns) {
    try {
      const core::ActorInstance* actor = core::CurrentActorInstance();
      if (actor == nullptr || actor->type != TypeName<T>()) {
        throw RayError("a call of a method of " + TypeName<T>() + " on a process that serves " +
                       (actor == nullptr ? std::string("no actor") : "a " + actor->type));
      }
      MethodWords method{reinterpret_cast<uintptr_t>(function), 0};
      if constexpr (kNamedByWords) {
        if (args.empty()) ThrowArity(function, 0, 1);
        auto words = ReadArg<std::array<int64_t, 2>>(args[0], 0, function);
        method = {words[0] != 0 ? static_cast<uintptr_t>(words[0]) : method.ptr,
                  static_cast<ptrdiff_t>(words[1])};
      }
      Call(static_cast<T*>(actor->object.get()), MethodOf<M>(method), function, args, returns,
           std::index_sequence_for<P...>{});
      return absl::OkStatus();
    } catch (...) {
      return CurrentExceptionStatus();
    }
  }

 private:
  template <size_t... I>
  static void Call(T* self, M method, [[maybe_unused]] const void* function,
                   [[maybe_unused]] std::span<const core::ObjectValue> args,
                   core::ReturnWriter& returns, std::index_sequence<I...>) {
    size_t next = kNamedByWords ? 1 : 0;  // past the method's name
    std::tuple<ArgHolder<S>...> held{
        ReadNextArg<S>(args, &next, I + (kNamedByWords ? 1 : 0), function)...};
    if (next != args.size()) ThrowArity(function, args.size(), next);
    if constexpr (std::is_void_v<R>) {
      (self->*method)(PassArg<P>(std::get<I>(held))...);
      WriteNone(returns);
    } else {
      decltype(auto) result = (self->*method)(PassArg<P>(std::get<I>(held))...);
      using D = std::remove_cvref_t<R>;
      if constexpr (ReturnsTraits<D>::kIsReturns) {
        WriteAll(result, returns, std::make_index_sequence<ReturnsTraits<D>::kCount>{});
      } else {
        WriteReturn<F>(0, result, returns);
      }
    }
  }
  template <typename V, size_t... K>
  static void WriteAll(const V& result, core::ReturnWriter& returns, std::index_sequence<K...>) {
    (WriteReturn<F>(K, std::get<K>(result), returns), ...);
  }
};

// How a call names `method`: its invoker (reading arguments as S..., writing results in format
// F), the function that names the task, and, for a virtual method or one that adjusts `this`,
// the first argument that says which method it is.
struct MethodTarget {
  core::Invoker invoker;
  const void* function;
  bool named_by_words;
  std::array<int64_t, 2> words;  // the first argument, when named_by_words
};
template <typename T, typename M, ReturnFormat F, typename Function, typename... S>
MethodTarget TargetOf(M method) {
  const MethodWords words = WordsOf(method);
  const bool is_virtual = IsVirtual(words);
  if (!is_virtual && words.adj == 0) {  // the address alone names it (the usual case)
    return {&MethodInvokerOf<T, M, false, F, Function, S...>::Run,
            reinterpret_cast<const void*>(words.ptr),
            false,
            {}};
  }
  using Invoker = MethodInvokerOf<T, M, true, F, Function, S...>;
  return {&Invoker::Run,
          is_virtual ? FunctionAddress(&Invoker::Run) : reinterpret_cast<const void*>(words.ptr),
          true,
          {is_virtual ? static_cast<int64_t>(words.ptr) : 0, static_cast<int64_t>(words.adj)}};
}

// ActorHandle::Kill.
void KillActor(const ObjectID& actor, bool no_restart);

// Submits a call of `method` (of shape Fn) on the actor whose handle's object is `actor`.
template <typename T, typename M, typename Fn>
struct MethodCall;
template <typename T, typename M, typename R, typename... P>
struct MethodCall<T, M, R (*)(P...)> {
  using Function = R (*)(P...);
  using Checked = RemoteFunction<Function>;  // its checks of parameters and results
  using Result = typename Checked::Result;

  template <typename... A>
  static Result Submit(const ObjectRef<std::string>& actor, M method, A&&... args) {
    static_assert(sizeof...(A) == sizeof...(P),
                  "handle.Task(&T::m).Remote(args...): wrong number of arguments for m");
    if constexpr (sizeof...(A) == sizeof...(P)) {
      constexpr bool ok =
          ArgumentChecks<Function, std::tuple<A...>, std::index_sequence_for<P...>>::kOk;
      if constexpr (ok) return Send(actor, method, std::forward<A>(args)...);
    }
    throw RayError("unreachable");  // only after a failed static_assert
  }

 private:
  template <typename... A>
  static Result Send(const ObjectRef<std::string>& actor, M method, A&&... args) {
    core::CoreRuntime& runtime = Runtime("handle.Task(&T::m).Remote(args...)");
    if (actor.ID().IsNil()) {
      throw RayError(
          "handle.Task(&T::m).Remote(args...): a call on an empty ActorHandle (made "
          "by its default constructor, it names no actor)");
    }
    const MethodTarget target =
        TargetOf<T, M, ReturnFormat::kNative, Function, StoredArg<P, A>...>(method);
    core::TaskSpec spec;
    spec.invoker = target.invoker;
    spec.function = target.function;
    std::string name;
    if (target.named_by_words && target.words[0] != 0) name = TypeName<T>() + "::<virtual method>";
    spec.options = CoreOptions(TaskOptions{.name = name}, Checked::kNumReturns, spec.function);
    if (target.named_by_words) AppendTaskArgs<std::array<int64_t, 2>>(spec.args, target.words);
    (AddNestedRefs(spec.nested_refs, args), ...);
    (AppendTaskArgs<P>(spec.args, std::forward<A>(args)), ...);
    spec.actor = actor.ID();
    std::vector<ObjectID> ids = ValueOrThrow(runtime.Submit(std::move(spec)));
    if (ids.size() != Checked::kNumReturns) ThrowArity(nullptr, ids.size(), Checked::kNumReturns);
    return CallResultOf<std::remove_cvref_t<R>>::Make(ids);
  }
};

}  // namespace internal

// A method of an actor, to call: handle.Task(&T::Method).Remote(args...).
template <typename T, typename M>
class ActorMethod {
  using Function = typename internal::MethodTraits<M>::Function;
  static_assert(std::is_base_of_v<typename internal::MethodTraits<M>::Class, T>,
                "handle.Task(&C::method): C must be the actor's class or a base of it");

 public:
  using Result = typename RemoteFunction<Function>::Result;

  ActorMethod(ObjectRef<std::string> actor, M method) : actor_(std::move(actor)), method_(method) {}

  // Submits the call; returns its ObjectRef(s) at once. Arguments as for ray::Remote(f).
  template <typename... A>
  Result Remote(A&&... args) const {
    return internal::MethodCall<T, M, Function>::Submit(actor_, method_, std::forward<A>(args)...);
  }

 private:
  ObjectRef<std::string> actor_;
  M method_;
};

template <typename T>
class ActorHandle {
 public:
  ActorHandle() = default;
  // The handle of the actor whose handle's object is `actor` (for the API's own use).
  explicit ActorHandle(ObjectRef<std::string> actor) : actor_(std::move(actor)) {}

  // A method to call: handle.Task(&T::Add).Remote(1). An overloaded method is picked by the
  // usual cast: static_cast<int (T::*)(int)>(&T::Add).
  template <typename M>
  requires std::is_member_function_pointer_v<M> ActorMethod<T, M> Task(M method)
  const { return ActorMethod<T, M>(actor_, method); }
  // A Python actor's method (ray/api/py_actor.h): handle.Task(ray::PyActorMethod<int>("add")).
  template <typename R>
  PyActorCall<R> Task(const PyActorMethod<R>& method) const {
    static_assert(std::is_same_v<T, PyActor>,
                  "ray::PyActorMethod is for ActorHandle<ray::PyActor>");
    return PyActorCall<R>(actor_, method);
  }
  // Ends the actor's process at once. Its calls not done fail with ray::ActorDiedError, and so
  // do later ones; with `no_restart` false it restarts instead, if max_restarts allows.
  void Kill(bool no_restart = true) const { internal::KillActor(actor_.ID(), no_restart); }

  // Its handle's object: the actor lives while this does.
  const ObjectID& ID() const { return actor_.ID(); }

 private:
  ObjectRef<std::string> actor_;
};

// Makes actors with a factory: ray::Actor(f).Remote(args...).
template <typename Fn>
class ActorCreator;

template <typename R, typename... P>
class ActorCreator<R (*)(P...)> {
  using T = typename internal::ActorTypeOf<R>::type;
  static_assert(std::is_class_v<T>,
                "ray::Actor(f): f must return a class T, a T*, a std::unique_ptr<T> or a "
                "std::shared_ptr<T>");
  static_assert(internal::ParameterChecks<R (*)(P...), std::index_sequence_for<P...>>::kOk);
  static constexpr bool kValid = (internal::ValidParameter<P>() && ...);

 public:
  explicit ActorCreator(R (*f)(P...), ActorOptions options = {}) : factory_(f), options_(options) {}
  ActorCreator Options(const ActorOptions& options) const {
    return ActorCreator(factory_, options);
  }

  // Submits the actor's creation; returns its handle at once (calls wait for the actor).
  template <typename... A>
  ActorHandle<T> Remote(A&&... args) const {
    static_assert(sizeof...(A) == sizeof...(P),
                  "ray::Actor(f).Remote(args...): wrong number of arguments for f");
    if constexpr (sizeof...(A) == sizeof...(P)) {
      constexpr bool ok = internal::ArgumentChecks<R (*)(P...), std::tuple<A...>,
                                                   std::index_sequence_for<P...>>::kOk;
      if constexpr (ok && kValid) return Submit(std::forward<A>(args)...);
    }
    throw RayError("unreachable");  // only after a failed static_assert
  }

 private:
  template <typename... A>
  ActorHandle<T> Submit(A&&... args) const {
    core::CoreRuntime& runtime = internal::Runtime("ray::Actor(f).Remote(args...)");
    core::TaskSpec spec =
        internal::ActorCreationSpec(runtime, options_, FunctionAddress(factory_), TypeName<T>());
    spec.invoker = &internal::ActorFactoryInvoker<R (*)(P...), internal::StoredArg<P, A>...>::Run;
    (internal::AddNestedRefs(spec.nested_refs, args), ...);
    (internal::AppendTaskArgs<P>(spec.args, std::forward<A>(args)), ...);
    std::vector<ObjectID> ids = internal::ValueOrThrow(runtime.Submit(std::move(spec)));
    if (ids.size() != 1) internal::ThrowArity(nullptr, ids.size(), 1);
    return ActorHandle<T>(ObjectRef<std::string>(ids[0], internal::kAdopt));
  }

  R (*factory_)(P...);
  ActorOptions options_;
};

// The actor named `name` in this session (ActorOptions::name), or nullopt. Throws RayError if
// it is not an actor of class T (Ray would let the first call fail instead).
template <typename T>
std::optional<ActorHandle<T>> GetActor(const std::string& name) {
  static_assert(std::is_class_v<T>, "ray::GetActor<T>: T is the actor's class");
  core::CoreRuntime& runtime = internal::Runtime("ray::GetActor");
  auto found = internal::ValueOrThrow(runtime.LookupActor(name));
  if (!found) return std::nullopt;
  ObjectRef<std::string> ref(found->id, internal::kAdopt);
  if (found->type != TypeName<T>()) {
    throw RayError("ray::GetActor<" + TypeName<T>() + ">(\"" + name + "\"): that actor is a " +
                   found->type);
  }
  return ActorHandle<T>(std::move(ref));
}

// Inside an actor's method: the actor ends once this call returns (its destructor runs, it does
// not restart); this call fails with ray::ActorDiedError ("it exited"), and so do later ones.
// Outside an actor's method: RayError.
[[noreturn]] void ExitActor();
// Inside an actor's method: whether its factory ran before, in a process that died (max_restarts).
bool WasCurrentActorRestarted();

// ray::Actor(f) for a factory function (a plain function or a captureless lambda).
template <typename R, typename... P>
ActorCreator<R (*)(P...)> Actor(R (*f)(P...)) {
  return ActorCreator<R (*)(P...)>(f);
}
template <typename L>
requires std::is_class_v<std::remove_cvref_t<L>>
auto Actor(L&& lambda) {
  static_assert(internal::FunctionPointerLike<std::remove_cvref_t<L>>,
                "ray::Actor takes a function pointer or a captureless, non-generic lambda");
  if constexpr (internal::FunctionPointerLike<std::remove_cvref_t<L>>) return Actor(+lambda);
}

}  // namespace ray

// A handle as a value: its actor's handle-object ID and its class's name (a handle read as
// another class's is a type error).
namespace msgpack {
MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS) {
  namespace adaptor {

  template <typename T>
  struct pack<ray::ActorHandle<T>> {
    template <typename Stream>
    packer<Stream>& operator()(packer<Stream>& o, const ray::ActorHandle<T>& v) const {
      // A value holding it keeps its actor alive (AddNestedRefs).
      if (ray::internal::handles_met != nullptr && !v.ID().IsNil()) {
        ray::internal::handles_met->push_back(v.ID());
      }
      const std::string_view id = v.ID().Binary();
      o.pack_array(2);
      o.pack_bin(static_cast<uint32_t>(id.size()));
      o.pack_bin_body(id.data(), static_cast<uint32_t>(id.size()));
      o.pack(ray::TypeName<T>());
      return o;
    }
  };

  template <typename T>
  struct convert<ray::ActorHandle<T>> {
    const msgpack::object& operator()(const msgpack::object& o, ray::ActorHandle<T>& v) const {
      if (o.type != msgpack::type::ARRAY || o.via.array.size != 2 ||
          o.via.array.ptr[0].type != msgpack::type::BIN ||
          o.via.array.ptr[1].type != msgpack::type::STR) {
        throw msgpack::type_error();
      }
      const auto& id = o.via.array.ptr[0].via.bin;
      const auto& type = o.via.array.ptr[1].via.str;
      if (std::string_view(type.ptr, type.size) != ray::TypeName<T>()) throw msgpack::type_error();
      ray::ObjectID actor = ray::ObjectID::FromBinaryOrNil(std::string_view(id.ptr, id.size));
      v = actor.IsNil() ? ray::ActorHandle<T>()
                        : ray::ActorHandle<T>(ray::ObjectRef<std::string>(actor));
      return o;
    }
  };

  }  // namespace adaptor
}  // MSGPACK_API_VERSION_NAMESPACE(MSGPACK_DEFAULT_API_NS)
}  // namespace msgpack
