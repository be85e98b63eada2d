// The modules loaded in this process as function_id.cc reads them: their build ids (ELF
// notes), where they are mapped (dl_iterate_phdr), and their files' code sections and symbols.
// Internal to function_id.cc; everything here is in its own namespace.
#pragma once

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

namespace ray::function_id_internal {

using Ehdr = ElfW(Ehdr);
using Phdr = ElfW(Phdr);
using Shdr = ElfW(Shdr);
using Sym = ElfW(Sym);
using Nhdr = ElfW(Nhdr);

inline absl::string_view AbslView(std::string_view s) {
  return absl::string_view(s.data(), s.size());
}

// ---------------------------------------------------------------------------------------------
// Build-id notes.

inline std::string ToHex(const unsigned char* p, size_t n) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out(2 * n, '\0');
  for (size_t i = 0; i < n; ++i) {
    out[2 * i] = kDigits[p[i] >> 4];
    out[2 * i + 1] = kDigits[p[i] & 15];
  }
  return out;
}

inline uint64_t AlignUp(uint64_t v, uint64_t align) { return (v + align - 1) & ~(align - 1); }

// Scans a note segment (in memory or in a mapped file) for NT_GNU_BUILD_ID; "" if absent.
inline std::string BuildIdFromNotes(const char* p, uint64_t size, uint64_t p_align) {
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

inline LoadCounts CurrentLoadCounts() {
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

inline std::string ReadLink(const char* path) {
  char buf[4096];
  ssize_t n = readlink(path, buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, n) : std::string();
}

inline std::shared_ptr<Snapshot> BuildSnapshot() {
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

inline std::string Demangle(const char* symbol) {
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

inline std::string WithDelta(std::string name, uint64_t delta) {
  if (delta != 0) absl::StrAppendFormat(&name, "+0x%x", delta);
  return name;
}

// A read-only mapping of a whole file.
class MappedFile {
 public:
  explicit MappedFile(const std::string& path) {
    int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) return;
    Map(fd);
    close(fd);
  }
  // Maps the file open at `fd` (which stays open: the caller's).
  explicit MappedFile(int fd) { Map(fd); }
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
  void Map(int fd) {
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0) {
      void* p = mmap(nullptr, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
      if (p != MAP_FAILED) {
        data_ = static_cast<const char*>(p);
        size_ = st.st_size;
      }
    }
  }

  const char* data_ = nullptr;
  uint64_t size_ = 0;
};

// The build-id of a mapped ELF file, from the notes its program headers name: false if it is not
// a 64-bit ELF file; true and "" if it has no build-id note.
inline bool FileBuildId(const MappedFile& file, std::string* build_id) {
  build_id->clear();
  Ehdr eh;
  if (!file.Read(0, &eh)) return false;
  if (std::memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
      eh.e_phentsize != sizeof(Phdr)) {
    return false;
  }
  for (uint64_t i = 0; i < eh.e_phnum && build_id->empty(); ++i) {
    Phdr ph;
    if (!file.Read(eh.e_phoff + i * sizeof(Phdr), &ph)) return false;
    if (ph.p_type != PT_NOTE) continue;
    if (const char* notes = file.At(ph.p_offset, ph.p_filesz)) {
      *build_id = BuildIdFromNotes(notes, ph.p_filesz, ph.p_align);
    }
  }
  return true;
}

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
    std::string file_build_id;
    if (!FileBuildId(file_, &file_build_id) || !file_.Read(0, &eh_)) return false;
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

}  // namespace ray::function_id_internal
