#include "ray/store/wire.h"

#include <string>

namespace ray::store {

void FillStatus(const absl::Status& status, rpc::Status::Builder out) {
  rpc::Code code;
  switch (status.code()) {
    case absl::StatusCode::kOk:
      code = rpc::Code::OK;
      break;
    case absl::StatusCode::kAlreadyExists:
      code = rpc::Code::OBJECT_EXISTS;
      break;
    case absl::StatusCode::kResourceExhausted:
      code = rpc::Code::OBJECT_STORE_FULL;
      break;
    case absl::StatusCode::kNotFound:
      code = rpc::Code::NOT_FOUND;
      break;
    case absl::StatusCode::kFailedPrecondition:
      code = rpc::Code::NOT_SEALED;
      break;
    case absl::StatusCode::kPermissionDenied:
      code = rpc::Code::NOT_PERMITTED;
      break;
    default:
      code = rpc::Code::INVALID_ARGUMENT;
      break;
  }
  out.setCode(code);
  std::string message(status.message());
  out.setMessage(message);
}

absl::Status ToStatus(rpc::Status::Reader status) {
  std::string message = status.getMessage();
  switch (status.getCode()) {
    case rpc::Code::OK:
      return absl::OkStatus();
    case rpc::Code::OBJECT_EXISTS:
      return absl::AlreadyExistsError(message);
    case rpc::Code::OBJECT_STORE_FULL:
      return absl::ResourceExhaustedError(message);
    case rpc::Code::NOT_FOUND:
      return absl::NotFoundError(message);
    case rpc::Code::NOT_SEALED:
    case rpc::Code::SEALED:
      return absl::FailedPreconditionError(message);
    case rpc::Code::NOT_PERMITTED:
      return absl::PermissionDeniedError(message);
    case rpc::Code::INVALID_ARGUMENT:
      return absl::InvalidArgumentError(message);
  }
  return absl::UnknownError(message);
}

void FillLocation(const ObjectSnapshot& snap, rpc::Location::Builder out) {
  out.setRecord(snap.record);
  out.setOffset(snap.offset);
  out.setSize(snap.size);
}

}  // namespace ray::store
