#include "ray/rpc/function_defs.h"

#include <string>
#include <string_view>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "ray/common/capnp_bytes.h"
#include "ray/rpc/checked_list.h"

namespace ray::core {
namespace {

// Bytes a definition adds to a message besides its strings (pointers, fields), roughly.
constexpr size_t kDefOverhead = 128;

absl::StatusOr<FunctionDescriptor> ReadDescriptorOf(rpc::FunctionDef::Reader def, bool invoker) {
  const char* what = invoker ? "its invoker" : "its function";
  if (!(invoker ? def.hasInvoker() : def.hasFunction())) {
    return absl::InvalidArgumentError(absl::StrCat("a function definition without ", what));
  }
  auto d = ReadFunctionDescriptor(invoker ? def.getInvoker() : def.getFunction());
  if (!d.ok()) return absl::InvalidArgumentError(absl::StrCat(what, ": ", d.status().message()));
  return d;
}

}  // namespace

void WriteFunctionDescriptor(rpc::FunctionDescriptor::Builder out, const FunctionDescriptor& d) {
  const std::string raw = absl::HexStringToBytes(d.module_build_id);
  out.setBuildId(AsData(raw));
  out.setOffset(d.offset);
  out.setName(d.name);
  if (!d.module_path.empty()) out.setModulePath(d.module_path);
}

absl::StatusOr<FunctionDescriptor> ReadFunctionDescriptor(rpc::FunctionDescriptor::Reader in) {
  return Guarded("function descriptor", [&]() -> absl::StatusOr<FunctionDescriptor> {
    capnp::Data::Reader build_id = in.getBuildId();
    if (build_id.size() == 0 || build_id.size() > kMaxBuildIdBytes) {
      return absl::InvalidArgumentError(
          absl::StrCat("malformed function descriptor: a build-id of ", build_id.size(),
                       " bytes (1 to ", kMaxBuildIdBytes, " expected)"));
    }
    FunctionDescriptor d;
    d.module_build_id = absl::BytesToHexString(
        absl::string_view(reinterpret_cast<const char*>(build_id.begin()), build_id.size()));
    d.offset = in.getOffset();
    d.name = TextView(in.getName());
    d.module_path = TextView(in.getModulePath());
    return d;
  });
}

void WriteFunctionDef(rpc::FunctionDef::Builder out, uint64_t key, const FunctionRecord& record) {
  out.setKey(key);
  WriteFunctionDescriptor(out.initInvoker(), record.invoker);
  WriteFunctionDescriptor(out.initFunction(), record.function);
  out.setName(record.name);
}

size_t FunctionDefBytes(const FunctionRecord& record) {
  const FunctionDescriptor& i = record.invoker;
  const FunctionDescriptor& f = record.function;
  return kDefOverhead + record.name.size() + i.module_build_id.size() / 2 + i.name.size() +
         i.module_path.size() + f.module_build_id.size() / 2 + f.name.size() + f.module_path.size();
}

absl::StatusOr<std::vector<FunctionDef>> ReadFunctionDefs(
    capnp::List<rpc::FunctionDef>::Reader list) {
  return Guarded("function definitions", [&]() -> absl::StatusOr<std::vector<FunctionDef>> {
    std::vector<FunctionDef> defs;
    defs.reserve(list.size());
    for (size_t i = 0; i < list.size(); ++i) {
      rpc::FunctionDef::Reader def = list[i];
      auto invoker = ReadDescriptorOf(def, /*invoker=*/true);
      auto function = invoker.ok() ? ReadDescriptorOf(def, /*invoker=*/false) : invoker;
      if (!function.ok()) {
        return absl::InvalidArgumentError(
            absl::StrCat("functions[", i, "]: ", function.status().message()));
      }
      defs.push_back({def.getKey(), FunctionRecord{*std::move(invoker), *std::move(function),
                                                   std::string(TextView(def.getName()))}});
    }
    return defs;
  });
}

}  // namespace ray::core
