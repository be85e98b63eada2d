// Naming a C++ function so that another process running the same binary can find it.
//
// A function is identified by the module (the executable or a shared library) that holds it,
// named by the module's ELF build-id (the NT_GNU_BUILD_ID note the linker writes), and by the
// function's link-time address inside that module (its address minus the module's load bias).
// A worker running the same binary finds the loaded module with the same build-id and adds its
// own load bias, so address-space layout randomization does not matter and no registration is
// needed. See "How a worker finds a C++ function" in DESIGN.md.
//
// Hot path: DescribeFunctionCached() answers repeated calls for the same address from a
// thread-local table (a few ns) and returns a pointer that stays valid for the life of the
// process; ResolveFunction() caches per (build-id, offset) as well. Caches are dropped when a
// library is unloaded, but only noticed on the next cold call: a process that dlcloses a
// library and loads another at the same address could be served a stale entry for an address
// it had described before (a pointer into the unloaded library was dangling anyway).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "absl/hash/hash.h"
#include "absl/status/statusor.h"

namespace ray {

struct FunctionDescriptor {
  // Lowercase hex of the module's NT_GNU_BUILD_ID note (usually 40 digits: SHA-1).
  std::string module_build_id;
  // Path of the module in the describing process. For messages only: another process may
  // run the same binary from another path.
  std::string module_path;
  // Link-time virtual address of the function in the module: address - load bias. For a PIE
  // executable or a shared library this is the offset from the load base; for a non-PIE
  // executable the bias is 0 and this is the address itself.
  uint64_t offset = 0;
  // Demangled symbol name ("add(int, int)") from the module's .symtab/.dynsym (static functions
  // and lambdas included) or dladdr, else "fn@0x<hex offset>". For messages and graphs.
  std::string name;

  // Identity is (build-id, offset): the same function described in two processes compares
  // equal even if the binary sits at another path or a name could not be read in one of them.
  friend bool operator==(const FunctionDescriptor& a, const FunctionDescriptor& b) {
    return a.offset == b.offset && a.module_build_id == b.module_build_id;
  }
  template <typename H>
  friend H AbslHashValue(H h, const FunctionDescriptor& d) {
    return H::combine(std::move(h), d.module_build_id, d.offset);
  }

  // On the wire it is worker.capnp's FunctionDescriptor (ray/rpc/function_defs.h).

  // "add(int, int) [module /path/bin build-id 1a2b... offset 0x1139]"
  std::string DebugString() const;
};

// Describes the function at `address` (any code address inside a loaded module; normally a
// function pointer). Errors: NotFound if no loaded module maps the address, FailedPrecondition
// if the address is not code (outside the executable segments, or, when the module file can be
// read, outside its code sections) or the module has no build-id.
absl::StatusOr<FunctionDescriptor> DescribeFunction(const void* address);

// Same, but cached: after the first call for an address this is a thread-local hash lookup.
// The pointer stays valid for the life of the process.
absl::StatusOr<const FunctionDescriptor*> DescribeFunctionCached(const void* address);

// Finds the module with d.module_build_id in this process and returns its load bias plus
// d.offset. Errors: NotFound if no loaded module has that build-id ("workers must run the same
// binary"), OutOfRange if the offset is not code (not inside an executable PT_LOAD segment,
// or, when the module file can be read, not inside a SHF_EXECINSTR section).
absl::StatusOr<const void*> ResolveFunction(const FunctionDescriptor& d);

// Demangled name of the function containing `address` ("add(int, int)", or "f(int)+0x10" for
// an address inside a function); "" if there is none. Names come from the module file's .symtab
// and .dynsym (static functions and lambdas included; the file is read once per module and must
// have the loaded module's build-id), else from dladdr (the vDSO, canonical PLT entries).
std::string DemangledName(const void* address);

// Function pointer to `const void*` (conditionally supported in ISO C++; fine on ELF targets).
template <typename F>
requires std::is_function_v<F>
const void* FunctionAddress(F* f) { return reinterpret_cast<const void*>(f); }

// The ELF build-id (lowercase hex) of the main executable; "" if it has none.
std::string MainExecutableBuildId();

// A module (the executable or a shared object) loaded in this process.
struct LoadedModule {
  std::string build_id;  // lowercase hex; "" if it has no build-id note
  // As the loader names it: a path for a file, a bare name for the vDSO. The executable's is
  // /proc/self/exe's target (" (deleted)" at the end if its file is gone).
  std::string path;
  uintptr_t load_bias = 0;  // runtime address minus link-time address
};

// Every module loaded in this process, the main executable first.
std::vector<LoadedModule> LoadedModules();

// The build-id (lowercase hex) of the ELF file open at `fd`, read from the notes its program
// headers name; "" if it has none. InvalidArgument if it is not a 64-bit ELF file.
absl::StatusOr<std::string> ElfFileBuildId(int fd);

namespace core {
// A readable name of the function at `address` for messages ("add(int, int)"), from
// DescribeFunctionCached; "fn@0x<address>" if it has none.
std::string FunctionName(const void* address);
}  // namespace core

}  // namespace ray
