// Functions in worker.capnp messages: descriptors (FunctionDescriptor) and the definitions that
// name an (invoker, function) pair by its key (FunctionDef). A definition goes once per
// connection, so it is read into copies.
#pragma once

#include <capnp/list.h>

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "ray/function/function_id.h"
#include "ray/function/function_table.h"
#include "ray/rpc/worker.capnp.h"

namespace ray::core {

// The longest build-id a descriptor carries, in bytes (SHA-1 takes 20).
inline constexpr size_t kMaxBuildIdBytes = 64;

// REQUIRES: d.module_build_id is lowercase hex, as DescribeFunction gives it.
void WriteFunctionDescriptor(rpc::FunctionDescriptor::Builder out, const FunctionDescriptor& d);
// InvalidArgument for a descriptor without a build-id or with one over kMaxBuildIdBytes.
absl::StatusOr<FunctionDescriptor> ReadFunctionDescriptor(rpc::FunctionDescriptor::Reader in);

struct FunctionDef {
  uint64_t key = 0;
  FunctionRecord record;
};

void WriteFunctionDef(rpc::FunctionDef::Builder out, uint64_t key, const FunctionRecord& record);
// What a definition adds to a message, roughly (for splitting batches).
size_t FunctionDefBytes(const FunctionRecord& record);
// InvalidArgument for a definition that lacks a descriptor, or one whose descriptor is
// malformed.
absl::StatusOr<std::vector<FunctionDef>> ReadFunctionDefs(
    capnp::List<rpc::FunctionDef>::Reader list);

}  // namespace ray::core
