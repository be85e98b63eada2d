#include "ray/function/function_id.h"

#include "absl/strings/str_format.h"
#include "ray/function/loaded_modules.h"

namespace ray {
namespace {

using namespace function_id_internal;  // NOLINT: this file is their one user

// ---------------------------------------------------------------------------------------------
// The process-wide registry.

class Registry {
 public:
  static Registry& Get() {
    static Registry* r = new Registry();  // never destroyed: usable from atexit handlers
    return *r;
  }

  // The current module snapshot; rebuilt when a library was loaded or unloaded since. An
  // unload also drops the per-address and resolve caches (descriptors are kept alive).
  std::shared_ptr<const Snapshot> Modules() ABSL_LOCKS_EXCLUDED(mu_) {
    const LoadCounts now = CurrentLoadCounts();
    {
      absl::ReaderMutexLock lock(&mu_);
      if (snapshot_ != nullptr && now.known && snapshot_->counts == now) return snapshot_;
    }
    // Built outside the lock: dl_iterate_phdr takes the loader's lock.
    std::shared_ptr<const Snapshot> fresh = BuildSnapshot();
    absl::MutexLock lock(&mu_);
    if (snapshot_ != nullptr && fresh->counts.known && snapshot_->counts.known &&
        fresh->counts.adds + fresh->counts.subs < snapshot_->counts.adds + snapshot_->counts.subs) {
      return snapshot_;  // another thread stored a newer one meanwhile
    }
    if (snapshot_ == nullptr || !fresh->counts.known ||
        fresh->counts.subs != snapshot_->counts.subs) {
      by_address_.clear();
      resolved_.clear();
      generation_.fetch_add(1, std::memory_order_release);
    }
    snapshot_ = fresh;
    return fresh;
  }

  uint64_t generation() const { return generation_.load(std::memory_order_acquire); }

  const FunctionDescriptor* FindDescribed(const void* address) ABSL_LOCKS_EXCLUDED(mu_) {
    absl::ReaderMutexLock lock(&mu_);
    auto it = by_address_.find(address);
    return it == by_address_.end() ? nullptr : it->second;
  }

  const FunctionDescriptor* AddDescribed(const void* address, FunctionDescriptor d)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    auto [it, inserted] = by_address_.try_emplace(address, nullptr);
    if (inserted) {
      descriptors_.push_back(std::move(d));
      it->second = &descriptors_.back();
    }
    return it->second;
  }

  // Resolve fast path: the load bias of the module with `build_id` if `offset` was already
  // checked to be code in it.
  bool FindResolved(std::string_view build_id, uint64_t offset, uintptr_t* bias)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::ReaderMutexLock lock(&mu_);
    auto it = resolved_.find(AbslView(build_id));
    if (it == resolved_.end() || !it->second.offsets.contains(offset)) return false;
    *bias = it->second.bias;
    return true;
  }
  void AddResolved(const std::string& build_id, uintptr_t bias, uint64_t offset)
      ABSL_LOCKS_EXCLUDED(mu_) {
    absl::MutexLock lock(&mu_);
    Resolved& r = resolved_[build_id];
    r.bias = bias;
    r.offsets.insert(offset);
  }

  // The module's file, parsed once per build-id (null if unreadable or not the loaded module).
  std::shared_ptr<const ModuleFile> File(const Module& m) ABSL_LOCKS_EXCLUDED(files_mu_) {
    const std::string key = m.build_id.empty() ? "path:" + m.path : m.build_id;
    {
      absl::ReaderMutexLock lock(&files_mu_);
      if (auto it = files_.find(key); it != files_.end()) return it->second;
    }
    std::shared_ptr<const ModuleFile> f = ModuleFile::Open(m);
    absl::MutexLock lock(&files_mu_);
    return files_.try_emplace(key, std::move(f)).first->second;
  }

 private:
  struct Resolved {
    uintptr_t bias = 0;
    absl::flat_hash_set<uint64_t> offsets;
  };
  absl::Mutex mu_;
  std::shared_ptr<const Snapshot> snapshot_ ABSL_GUARDED_BY(mu_);
  absl::flat_hash_map<const void*, const FunctionDescriptor*> by_address_ ABSL_GUARDED_BY(mu_);
  std::deque<FunctionDescriptor> descriptors_ ABSL_GUARDED_BY(mu_);  // stable addresses
  absl::flat_hash_map<std::string, Resolved> resolved_ ABSL_GUARDED_BY(mu_);
  std::atomic<uint64_t> generation_{1};
  absl::Mutex files_mu_;
  absl::flat_hash_map<std::string, std::shared_ptr<const ModuleFile>> files_
      ABSL_GUARDED_BY(files_mu_);
};

// The module mapping `address` (in any of its PT_LOAD segments), or null.
const Module* ModuleAt(const Snapshot& snap, const void* address) {
  const uintptr_t a = reinterpret_cast<uintptr_t>(address);
  for (const Module& m : snap.modules) {
    if (m.SegmentAt(a - m.bias) != nullptr) return &m;
  }
  return nullptr;
}

// "" if link-time address `vaddr` is code in module `m`, else why not.
std::string WhyNotCode(const Module& m, uint64_t vaddr, const ModuleFile* file) {
  const Segment* seg = m.SegmentAt(vaddr);
  if (seg == nullptr || !seg->exec) return "not inside an executable segment";
  if (file != nullptr && file->code() != nullptr && !file->IsCode(vaddr)) {
    return "inside an executable segment but outside its code sections (.text, .plt, ...)";
  }
  return "";
}

// Name from the module file's symbols, else dladdr (also covers the vDSO, which has no file).
std::string NameAt(const void* address, uint64_t vaddr, const ModuleFile* file) {
  if (file != nullptr) {
    std::string name = file->NameAt(vaddr);
    if (!name.empty()) return name;
  }
  Dl_info info;
  if (dladdr(address, &info) != 0 && info.dli_sname != nullptr && info.dli_saddr != nullptr &&
      info.dli_saddr <= address) {
    return WithDelta(Demangle(info.dli_sname),
                     static_cast<const char*>(address) - static_cast<const char*>(info.dli_saddr));
  }
  return "";
}

std::string Shorten(const std::string& s, size_t n = 16) {
  return s.size() <= n ? s : s.substr(0, n) + "...";
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string FunctionDescriptor::DebugString() const {
  return absl::StrFormat("%s [module %s build-id %s offset 0x%x]", name, module_path,
                         Shorten(module_build_id), offset);
}

absl::StatusOr<FunctionDescriptor> DescribeFunction(const void* address) {
  auto cached = DescribeFunctionCached(address);
  if (!cached.ok()) return cached.status();
  return **cached;
}

namespace {

absl::StatusOr<FunctionDescriptor> DescribeUncached(const void* address) {
  Registry& reg = Registry::Get();
  auto snap = reg.Modules();
  const Module* m = ModuleAt(*snap, address);
  if (m == nullptr) {
    return absl::NotFoundError(absl::StrFormat(
        "address %p is not inside any loaded module (JIT code or a dangling pointer?)", address));
  }
  const uint64_t vaddr = reinterpret_cast<uintptr_t>(address) - m->bias;
  std::shared_ptr<const ModuleFile> file = reg.File(*m);
  if (std::string why = WhyNotCode(*m, vaddr, file.get()); !why.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "address %p (offset 0x%x in %s) is not code: %s", address, vaddr, m->path, why));
  }
  if (m->build_id.empty()) {
    return absl::FailedPreconditionError(absl::StrFormat(
        "module %s has no build-id note, so workers cannot check they run the same binary: "
        "link it with -Wl,--build-id",
        m->path));
  }
  FunctionDescriptor d;
  d.module_build_id = m->build_id;
  d.module_path = m->path;
  d.offset = vaddr;
  d.name = NameAt(address, vaddr, file.get());
  if (d.name.empty()) d.name = absl::StrFormat("fn@0x%x", vaddr);
  return d;
}

}  // namespace

absl::StatusOr<const FunctionDescriptor*> DescribeFunctionCached(const void* address) {
  struct Local {
    uint64_t generation = 0;
    absl::flat_hash_map<const void*, const FunctionDescriptor*> map;
  };
  thread_local Local local;
  Registry& reg = Registry::Get();
  const uint64_t gen = reg.generation();
  if (local.generation != gen) {
    local.map.clear();
    local.generation = gen;
  }
  if (auto it = local.map.find(address); it != local.map.end()) return it->second;
  const FunctionDescriptor* d = reg.FindDescribed(address);
  if (d == nullptr) {
    auto fresh = DescribeUncached(address);
    if (!fresh.ok()) return fresh.status();
    d = reg.AddDescribed(address, *std::move(fresh));
  }
  if (reg.generation() == gen) local.map.emplace(address, d);
  return d;
}

absl::StatusOr<const void*> ResolveFunction(const FunctionDescriptor& d) {
  Registry& reg = Registry::Get();
  uintptr_t bias;
  if (reg.FindResolved(d.module_build_id, d.offset, &bias)) {
    return reinterpret_cast<const void*>(bias + d.offset);
  }
  auto snap = reg.Modules();
  auto it = snap->by_build_id.find(d.module_build_id);
  if (it == snap->by_build_id.end()) {
    const Module& exe = snap->modules.front();
    return absl::NotFoundError(absl::StrFormat(
        "function %s (module build-id %s, path %s) is not loaded in this process: no loaded "
        "module has that build-id (this process runs %s, build-id %s); workers must run the "
        "same binary as the driver",
        d.name, d.module_build_id, d.module_path, exe.path,
        exe.build_id.empty() ? "none" : exe.build_id));
  }
  const Module& m = snap->modules[it->second];
  std::shared_ptr<const ModuleFile> file = reg.File(m);
  if (std::string why = WhyNotCode(m, d.offset, file.get()); !why.empty()) {
    return absl::OutOfRangeError(
        absl::StrFormat("function %s: offset 0x%x is not code in module %s (build-id %s): %s",
                        d.name, d.offset, m.path, Shorten(d.module_build_id), why));
  }
  reg.AddResolved(m.build_id, m.bias, d.offset);
  return reinterpret_cast<const void*>(m.bias + d.offset);
}

std::string DemangledName(const void* address) {
  Registry& reg = Registry::Get();
  auto snap = reg.Modules();
  const Module* m = ModuleAt(*snap, address);
  if (m == nullptr) return "";
  const uint64_t vaddr = reinterpret_cast<uintptr_t>(address) - m->bias;
  return NameAt(address, vaddr, reg.File(*m).get());
}

std::string MainExecutableBuildId() {
  auto snap = Registry::Get().Modules();
  return snap->modules.empty() ? "" : snap->modules.front().build_id;
}

std::vector<LoadedModule> LoadedModules() {
  auto snap = Registry::Get().Modules();
  std::vector<LoadedModule> modules;
  for (const Module& m : snap->modules) modules.push_back({m.build_id, m.path, m.bias});
  return modules;
}

absl::StatusOr<std::string> ElfFileBuildId(int fd) {
  std::string build_id;
  if (!FileBuildId(MappedFile(fd), &build_id)) {
    return absl::InvalidArgumentError("not a 64-bit ELF file");
  }
  return build_id;
}

namespace core {

std::string FunctionName(const void* address) {
  absl::StatusOr<const FunctionDescriptor*> d = DescribeFunctionCached(address);
  if (d.ok() && !(*d)->name.empty()) return (*d)->name;
  return absl::StrFormat("fn@%p", address);
}

}  // namespace core
}  // namespace ray
