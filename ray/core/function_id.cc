#include "ray/core/function_id.h"

#include <cxxabi.h>
#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <link.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <vector>

#include "absl/base/call_once.h"
#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/container/flat_hash_set.h"
#include "absl/status/status.h"
#include "absl/strings/str_format.h"
#include "absl/synchronization/mutex.h"

namespace ray {
namespace {

using Ehdr = ElfW(Ehdr);
using Phdr = ElfW(Phdr);
using Shdr = ElfW(Shdr);
using Sym = ElfW(Sym);
using Nhdr = ElfW(Nhdr);

absl::string_view AbslView(std::string_view s) { return absl::string_view(s.data(), s.size()); }

// ---------------------------------------------------------------------------------------------
// Build-id notes.

std::string ToHex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

uint64_t AlignUp(uint64_t v, uint64_t align) { return (v + align - 1) & ~(align - 1); }

// Scans a note segment (in memory or in a mapped file) for NT_GNU_BUILD_ID; "" if absent.
std::string BuildIdFromNotes(const char* p, uint64_t size, uint64_t p_align) {
  const uint64_t align = p_align == 8 ? 8 : 4;
  uint64_t pos = 0;
  while (size - pos >= sizeof(Nhdr)) {
    Nhdr nh;
    std::memcpy(&nh, p + pos, sizeof nh);
    const uint64_t name_at = pos + sizeof(Nhdr);
    const uint64_t desc_at = name_at + AlignUp(nh.n_namesz, align);
    const uint64_t next = desc_at + AlignUp(nh.n_descsz, align);
    if (desc_at + nh.n_descsz > size) break;
    if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
        std::memcmp(p + name_at, "GNU", 4) == 0 && nh.n_descsz > 0) {
      return ToHex(reinterpret_cast<const unsigned char*>(p + desc_at), nh.n_descsz);
    }
    if (next <= pos) break;
    pos = next;
    if (pos > size) break;
  }
  return "";
}

// ---------------------------------------------------------------------------------------------
// Loaded modules, from dl_iterate_phdr.

struct Segment {
  uint64_t vaddr;  // link-time
  uint64_t memsz;
  bool exec;
};

struct Module {
  uintptr_t bias = 0;  // dlpi_addr: runtime address = bias + link-time address
  std::string build_id;
  std::string path;          // for messages
  std::string symbols_file;  // the file to read .symtab from ("" if none)
  std::vector<Segment> loads;

  // The PT_LOAD segment holding link-time address `vaddr`, or null.
  const Segment* SegmentAt(uint64_t vaddr) const {
    for (const Segment& s : loads) {
      if (vaddr >= s.vaddr && vaddr - s.vaddr < s.memsz) return &s;
    }
    return nullptr;
  }
};

struct LoadCounts {
  unsigned long long adds = 0, subs = 0;
  bool known = false;
  bool operator==(const LoadCounts&) const = default;
};

struct Snapshot {
  LoadCounts counts;
  std::vector<Module> modules;  // [0] is the main executable
  absl::flat_hash_map<std::string, size_t> by_build_id;
};

LoadCounts CurrentLoadCounts() {
  LoadCounts c;
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t size, void* data) -> int {
        auto* c = static_cast<LoadCounts*>(data);
        if (size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
          c->adds = info->dlpi_adds;
          c->subs = info->dlpi_subs;
          c->known = true;
        }
        return 1;  // the counts are the same in every entry: stop after the first
      },
      &c);
  return c;
}

std::string ReadLink(const char* path) {
  char buf[4096];
  ssize_t n = readlink(path, buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : std::string();
}

std::shared_ptr<Snapshot> BuildSnapshot() {
  auto snap = std::make_shared<Snapshot>();
  struct Ctx {
    Snapshot* snap;
    int index = 0;
  } ctx{snap.get()};
  dl_iterate_phdr(
      [](dl_phdr_info* info, size_t size, void* data) -> int {
        auto* ctx = static_cast<Ctx*>(data);
        if (ctx->index++ == 0 &&
            size >= offsetof(dl_phdr_info, dlpi_subs) + sizeof(info->dlpi_subs)) {
          ctx->snap->counts = {info->dlpi_adds, info->dlpi_subs, true};
        }
        Module m;
        m.bias = info->dlpi_addr;
        m.path = info->dlpi_name ? info->dlpi_name : "";
        for (int i = 0; i < info->dlpi_phnum; ++i) {
          const Phdr& ph = info->dlpi_phdr[i];
          if (ph.p_type == PT_LOAD) {
            m.loads.push_back({ph.p_vaddr, ph.p_memsz, (ph.p_flags & PF_X) != 0});
          }
        }
        for (int i = 0; i < info->dlpi_phnum && m.build_id.empty(); ++i) {
          const Phdr& ph = info->dlpi_phdr[i];
          if (ph.p_type != PT_NOTE) continue;
          // Read the notes only if they are mapped (inside a loaded segment).
          const Segment* seg = m.SegmentAt(ph.p_vaddr);
          if (seg == nullptr || ph.p_memsz > seg->memsz - (ph.p_vaddr - seg->vaddr)) continue;
          m.build_id = BuildIdFromNotes(reinterpret_cast<const char*>(info->dlpi_addr + ph.p_vaddr),
                                        ph.p_memsz, ph.p_align);
        }
        ctx->snap->modules.push_back(std::move(m));
        return 0;
      },
      &ctx);
  for (size_t i = 0; i < snap->modules.size(); ++i) {
    Module& m = snap->modules[i];
    if (i == 0 && m.path.empty()) {
      // The main executable. /proc/self/exe opens the file we run even if it was replaced.
      m.symbols_file = "/proc/self/exe";
      m.path = ReadLink("/proc/self/exe");
      if (m.path.empty()) m.path = "<main executable>";
    } else if (m.path.find('/') != std::string::npos) {
      m.symbols_file = m.path;  // relative only if dlopen was given one; the build-id is checked
    }
    if (m.path.empty()) m.path = "<unnamed module>";
    if (!m.build_id.empty()) snap->by_build_id.emplace(m.build_id, i);
  }
  return snap;
}

// ---------------------------------------------------------------------------------------------
// Module files: code sections and symbols, read once per module.

std::string Demangle(const char* symbol) {
  int status = 0;
  char* out = abi::__cxa_demangle(symbol, nullptr, nullptr, &status);
  if (status != 0 || out == nullptr) {
    std::free(out);
    return symbol;  // a C name, or something the demangler does not know
  }
  std::string s(out);
  std::free(out);
  return s;
}

std::string WithDelta(std::string name, uint64_t delta) {
  if (delta != 0) absl::StrAppendFormat(&name, "+0x%x", delta);
  return name;
}

// A read-only mapping of a whole file.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const char*>(p);
        size_ = st.st_size;
      }
    }
    close(fd);
  }
  ~MappedFile() {
    if (data_) munmap(const_cast<char*>(data_), size_);
  }
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  // Pointer to [off, off + n) if that range is inside the file, else null.
  const char* At(uint64_t off, uint64_t n) const {
    if (data_ == nullptr || off > size_ || n > size_ - off) return nullptr;
    return data_ + off;
  }
  template <typename T>
  bool Read(uint64_t off, T* out) const {
    const char* p = At(off, sizeof(T));
    if (p != nullptr) std::memcpy(out, p, sizeof(T));
    return p != nullptr;
  }

 private:
  const char* data_ = nullptr;
  uint64_t size_ = 0;
};

struct Range {
  uint64_t begin, end;  // link-time addresses
};

// What the module's file on disk says: which address ranges hold code (SHF_EXECINSTR sections:
// finer than segments, since gold puts headers and .rodata in the R+X segment) and the function
// symbols of .symtab and .dynsym (static functions and lambdas are only in .symtab). Parsed only
// if the file is the module we loaded (same build-id). The symbol index is built on first use.
class ModuleFile {
 public:
  static std::shared_ptr<const ModuleFile> Open(const Module& m) {
    if (m.symbols_file.empty()) return nullptr;
    auto f = std::shared_ptr<ModuleFile>(new ModuleFile(m.symbols_file));
    return f->Parse(m.build_id) ? f : nullptr;
  }

  // Null if the file has no section headers (then only segments can be checked).
  const std::vector<Range>* code() const { return has_sections_ ? &code_ : nullptr; }
  bool IsCode(uint64_t vaddr) const {
    for (const Range& r : code_) {
      if (vaddr >= r.begin && vaddr < r.end) return true;
    }
    return false;
  }

  // "name(args)" or "name(args)+0x10" for the function holding `vaddr`; "" if none.
  std::string NameAt(uint64_t vaddr) const {
    absl::call_once(index_once_, [this] { BuildIndex(); });
    auto it = std::upper_bound(funcs_.begin(), funcs_.end(), vaddr,
                               [](uint64_t v, const Func& f) { return v < f.value; });
    if (it == funcs_.begin()) return "";
    --it;
    // Among aliases at the same address (sorted with globals first) take the first that holds
    // the address.
    auto first = it;
    while (first != funcs_.begin() && std::prev(first)->value == it->value) --first;
    for (auto f = first; f <= it; ++f) {
      if (vaddr - f->value < std::max<uint64_t>(f->size, 1)) {
        return WithDelta(Demangle(f->name), vaddr - f->value);
      }
    }
    return "";
  }

 private:
  struct Func {
    uint64_t value, size;
    const char* name;  // into the mapping, NUL-terminated (checked)
    bool global;
  };

  explicit ModuleFile(const std::string& path) : file_(path) {}

  bool Parse(const std::string& expected_build_id) {
    if (!file_.Read(0, &eh_)) return false;
    if (std::memcmp(eh_.e_ident, ELFMAG, SELFMAG) != 0 || eh_.e_ident[EI_CLASS] != ELFCLASS64 ||
        eh_.e_phentsize != sizeof(Phdr)) {
      return false;
    }
    std::string file_build_id;
    for (uint64_t i = 0; i < eh_.e_phnum && file_build_id.empty(); ++i) {
      Phdr ph;
      if (!file_.Read(eh_.e_phoff + i * sizeof(Phdr), &ph)) return false;
      if (ph.p_type != PT_NOTE) continue;
      if (const char* notes = file_.At(ph.p_offset, ph.p_filesz)) {
        file_build_id = BuildIdFromNotes(notes, ph.p_filesz, ph.p_align);
      }
    }
    if (file_build_id != expected_build_id) return false;  // replaced on disk, or not ours

    Shdr s0;
    if (eh_.e_shoff == 0 || eh_.e_shentsize != sizeof(Shdr) || !file_.Read(eh_.e_shoff, &s0)) {
      return true;  // no usable section headers: no code ranges, no symbols
    }
    shnum_ = eh_.e_shnum != 0 ? eh_.e_shnum : s0.sh_size;  // extended numbering
    if (shnum_ > (1u << 20) || file_.At(eh_.e_shoff, shnum_ * sizeof(Shdr)) == nullptr) {
      return true;
    }
    has_sections_ = true;
    for (uint64_t i = 0; i < shnum_; ++i) {
      Shdr sh = Section(i);
      if ((sh.sh_flags & SHF_ALLOC) && (sh.sh_flags & SHF_EXECINSTR) && sh.sh_size > 0) {
        code_.push_back({sh.sh_addr, sh.sh_addr + sh.sh_size});
      }
    }
    return true;
  }

  Shdr Section(uint64_t i) const {
    Shdr sh;
    std::memcpy(&sh, file_.At(eh_.e_shoff, shnum_ * sizeof(Shdr)) + i * sizeof(Shdr), sizeof sh);
    return sh;
  }

  void BuildIndex() const {
    for (uint64_t i = 0; has_sections_ && i < shnum_; ++i) {
      Shdr sh = Section(i);
      if ((sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) || sh.sh_entsize != sizeof(Sym) ||
          sh.sh_link >= shnum_) {
        continue;
      }
      Shdr strtab = Section(sh.sh_link);
      const char* syms = file_.At(sh.sh_offset, sh.sh_size);
      const char* strs = file_.At(strtab.sh_offset, strtab.sh_size);
      if (syms == nullptr || strs == nullptr || strtab.sh_size == 0) continue;
      // The string table must end in NUL so every name inside it is terminated.
      if (strs[strtab.sh_size - 1] != '\0') continue;
      const uint64_t count = sh.sh_size / sizeof(Sym);
      for (uint64_t k = 0; k < count; ++k) {
        Sym s;
        std::memcpy(&s, syms + k * sizeof(Sym), sizeof s);
        const int type = ELF64_ST_TYPE(s.st_info);
        if ((type != STT_FUNC && type != STT_GNU_IFUNC) || s.st_shndx == SHN_UNDEF ||
            s.st_name == 0 || s.st_name >= strtab.sh_size) {
          continue;
        }
        funcs_.push_back(
            {s.st_value, s.st_size, strs + s.st_name, ELF64_ST_BIND(s.st_info) == STB_GLOBAL});
      }
    }
    std::sort(funcs_.begin(), funcs_.end(), [](const Func& a, const Func& b) {
      if (a.value != b.value) return a.value < b.value;
      if (a.global != b.global) return a.global;
      return std::strcmp(a.name, b.name) < 0;
    });
  }

  MappedFile file_;  // kept mapped: symbol names point into it
  Ehdr eh_{};
  uint64_t shnum_ = 0;
  bool has_sections_ = false;
  std::vector<Range> code_;
  mutable absl::once_flag index_once_;
  mutable std::vector<Func> funcs_;
};

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

// ---------------------------------------------------------------------------------------------
// Encoding helpers.

constexpr unsigned char kMagic = 0xFD;
constexpr unsigned char kFlagRawBuildId = 1;
constexpr size_t kMaxBuildIdBytes = 64;

void PutVarint(std::string* out, uint64_t v) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7F) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

class Reader {
 public:
  explicit Reader(std::string_view in) : in_(in) {}
  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos_ >= in_.size()) return false;
      const uint64_t byte = static_cast<unsigned char>(in_[pos_++]);
      if (shift == 63 && byte > 1) return false;  // overflows 64 bits
      result |= (byte & 0x7F) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;
  }
  bool String(std::string* s) {
    uint64_t n;
    if (!Varint(&n) || n > in_.size() - pos_) return false;
    s->assign(in_.data() + pos_, n);
    pos_ += n;
    return true;
  }
  bool Byte(unsigned char* b) {
    if (pos_ >= in_.size()) return false;
    *b = static_cast<unsigned char>(in_[pos_++]);
    return true;
  }
  bool AtEnd() const { return pos_ == in_.size(); }
  size_t pos() const { return pos_; }

 private:
  std::string_view in_;
  size_t pos_ = 0;
};

bool IsCanonicalHex(std::string_view s) {
  if (s.empty() || s.size() % 2 != 0 || s.size() > 2 * kMaxBuildIdBytes) return false;
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

int HexDigit(char c) { return c <= '9' ? c - '0' : c - 'a' + 10; }

std::string Shorten(const std::string& s, size_t n = 16) {
  return s.size() <= n ? s : s.substr(0, n) + "...";
}

}  // namespace

// ---------------------------------------------------------------------------------------------

std::string FunctionDescriptor::Encode() const {
  std::string out;
  out.reserve(4 + module_build_id.size() + name.size() + module_path.size() + 12);
  const bool raw = IsCanonicalHex(module_build_id);
  out.push_back(static_cast<char>(kMagic));
  out.push_back(static_cast<char>(raw ? kFlagRawBuildId : 0));
  PutVarint(&out, offset);
  if (raw) {
    PutVarint(&out, module_build_id.size() / 2);
    for (size_t i = 0; i < module_build_id.size(); i += 2) {
      out.push_back(
          static_cast<char>(HexDigit(module_build_id[i]) << 4 | HexDigit(module_build_id[i + 1])));
    }
  } else {
    PutString(&out, module_build_id);
  }
  PutString(&out, name);
  PutString(&out, module_path);
  return out;
}

absl::StatusOr<FunctionDescriptor> FunctionDescriptor::Decode(std::string_view bytes) {
  auto bad = [&](std::string_view what) {
    return absl::InvalidArgumentError(absl::StrFormat(
        "malformed function descriptor (%d bytes): %s", bytes.size(), AbslView(what)));
  };
  Reader r(bytes);
  unsigned char magic, flags;
  if (!r.Byte(&magic)) return bad("empty");
  if (magic != kMagic) return bad(absl::StrFormat("bad magic byte 0x%02x", magic));
  if (!r.Byte(&flags)) return bad("truncated after the magic byte");
  if ((flags & ~kFlagRawBuildId) != 0) return bad(absl::StrFormat("unknown flags 0x%02x", flags));
  FunctionDescriptor d;
  if (!r.Varint(&d.offset)) return bad("truncated or overlong offset");
  std::string build_id;
  if (!r.String(&build_id)) return bad("truncated build-id");
  if (build_id.empty()) return bad("empty build-id");
  if ((flags & kFlagRawBuildId) != 0) {
    if (build_id.size() > kMaxBuildIdBytes) return bad("build-id longer than 64 bytes");
    d.module_build_id =
        ToHex(reinterpret_cast<const unsigned char*>(build_id.data()), build_id.size());
  } else {
    d.module_build_id = std::move(build_id);
  }
  if (!r.String(&d.name)) return bad("truncated name");
  if (!r.String(&d.module_path)) return bad("truncated module path");
  if (!r.AtEnd()) {
    return bad(absl::StrFormat("%d trailing bytes", bytes.size() - r.pos()));
  }
  return d;
}

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

}  // namespace ray
