// Conversions between the backend SPI's value types (lib/backend/types.h) and the A2 protobuf
// messages (proto/a2.proto), and between absl::Status and grpc::Status. Used by both ends of A2:
// the node's MetadataServer and the gateway's A2 client. Pure functions.
//
// Errors keep their exact meaning across the wire: the canonical code maps one to one, and an
// FsError payload travels in grpc::Status::error_details as "fs:<number>".
//
// Example:
//   cfs::a2::v1::Attributes wire = ToProto(attrs);
//   backend::Attributes back = FromProto(wire);

#ifndef CFS_LIB_BACKENDS_REMOTE_A2_CONVERT_H_
#define CFS_LIB_BACKENDS_REMOTE_A2_CONVERT_H_

#include "absl/status/status.h"
#include "grpcpp/grpcpp.h"
#include "lib/backend/types.h"
#include "lib/backends/remote/proto/a2.pb.h"

namespace cfs::remote {

namespace pb = ::cfs::a2::v1;

pb::Caller ToProto(const backend::RequestContext& ctx);
backend::RequestContext FromProto(const pb::Caller& caller);

pb::Attributes ToProto(const backend::Attributes& attrs);
backend::Attributes FromProto(const pb::Attributes& attrs);

pb::SetAttributes ToProto(const backend::SetAttributes& set);
backend::SetAttributes FromProto(const pb::SetAttributes& set);

pb::AttrChange ToProto(const backend::AttrChange& change);
backend::AttrChange FromProto(const pb::AttrChange& change);

pb::EntryResult ToProto(const backend::EntryResult& entry);
backend::EntryResult FromProto(const pb::EntryResult& entry);

pb::ReadDirResponse ToProto(const backend::ReadDirResult& page);
backend::ReadDirResult FromProto(const pb::ReadDirResponse& page);

pb::FsStatResponse ToProto(const backend::FsStatResult& stat);
backend::FsStatResult FromProto(const pb::FsStatResponse& stat);

grpc::Status ToGrpc(const absl::Status& status);
absl::Status FromGrpc(const grpc::Status& status);

}  // namespace cfs::remote

#endif  // CFS_LIB_BACKENDS_REMOTE_A2_CONVERT_H_
