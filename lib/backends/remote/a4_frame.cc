#include "lib/backends/remote/a4_frame.h"

#include <cstring>

#include "lib/backend/errors.h"

namespace cfs::remote::a4 {
namespace {

void Put8(std::string* out, uint8_t v) { out->push_back(static_cast<char>(v)); }
void Put32(std::string* out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}
void Put64(std::string* out, uint64_t v) {
  for (int i = 0; i < 8; ++i) out->push_back(static_cast<char>(v >> (8 * i)));
}

// Reads fixed fields front to back; any read past the end marks the reader failed.
class Reader {
 public:
  explicit Reader(absl::string_view bytes) : bytes_(bytes) {}
  uint8_t U8() { return static_cast<uint8_t>(Take(1)); }
  uint32_t U32() { return static_cast<uint32_t>(Take(4)); }
  uint64_t U64() { return Take(8); }
  absl::string_view Rest() {
    absl::string_view rest = bytes_.substr(pos_);
    pos_ = bytes_.size();
    return rest;
  }
  bool ok() const { return ok_; }
  bool AtEnd() const { return pos_ == bytes_.size(); }

 private:
  uint64_t Take(size_t n) {
    if (!ok_ || bytes_.size() - pos_ < n) {
      ok_ = false;
      return 0;
    }
    uint64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      v |= static_cast<uint64_t>(static_cast<uint8_t>(bytes_[pos_ + i])) << (8 * i);
    }
    pos_ += n;
    return v;
  }
  absl::string_view bytes_;
  size_t pos_ = 0;
  bool ok_ = true;
};

absl::Status Malformed(absl::string_view what) {
  return absl::InvalidArgumentError(std::string("A4: ") + std::string(what));
}

bool ValidOp(uint8_t op) { return op >= 1 && op <= 8; }

bool ValidStability(uint8_t s) { return s <= static_cast<uint8_t>(backend::Stability::kFileSync); }

std::string Frame(Kind kind, Op op, uint8_t flags, uint64_t id, uint32_t aux,
                  const std::string& body, size_t trailing) {
  std::string out;
  out.reserve(kHeaderSize + body.size());
  Put32(&out, kMagic);
  Put8(&out, kVersion);
  Put8(&out, static_cast<uint8_t>(kind));
  Put8(&out, static_cast<uint8_t>(op));
  Put8(&out, flags);
  Put64(&out, id);
  Put32(&out, aux);
  Put32(&out, static_cast<uint32_t>(body.size() + trailing));
  out += body;
  return out;
}

}  // namespace

uint32_t EncodeStatus(const absl::Status& status) {
  if (status.ok()) return 0;
  uint32_t word = static_cast<uint32_t>(status.code()) & 0xff;
  if (std::optional<backend::FsError> fs = backend::GetFsError(status)) {
    word |= (static_cast<uint32_t>(*fs) + 1) << 8;
  }
  return word;
}

absl::Status DecodeStatus(uint32_t word, absl::string_view message) {
  if (word == 0) return absl::OkStatus();
  uint32_t fs = (word >> 8) & 0xff;
  if (fs != 0 && fs - 1 <= static_cast<uint32_t>(backend::FsError::kIo)) {
    return backend::FsErrorStatus(static_cast<backend::FsError>(fs - 1), message);
  }
  uint32_t code = word & 0xff;
  if (code == 0 || code > static_cast<uint32_t>(absl::StatusCode::kUnauthenticated)) {
    code = static_cast<uint32_t>(absl::StatusCode::kUnknown);
  }
  return absl::Status(static_cast<absl::StatusCode>(code), message);
}

absl::StatusOr<Header> DecodeHeader(absl::string_view bytes) {
  if (bytes.size() != kHeaderSize) return Malformed("header size");
  Reader r(bytes);
  if (r.U32() != kMagic) return Malformed("bad magic");
  if (r.U8() != kVersion) return Malformed("unsupported version");
  Header h;
  uint8_t kind = r.U8();
  if (kind != static_cast<uint8_t>(Kind::kRequest) &&
      kind != static_cast<uint8_t>(Kind::kResponse)) {
    return Malformed("bad kind");
  }
  h.kind = static_cast<Kind>(kind);
  uint8_t op = r.U8();
  if (!ValidOp(op)) return Malformed("unknown op");
  h.op = static_cast<Op>(op);
  h.flags = r.U8();
  if (!ValidStability(h.flags) || (h.flags != 0 && h.op != Op::kWrite)) {
    return Malformed("bad flags");
  }
  h.request_id = r.U64();
  h.aux = r.U32();
  h.payload_length = r.U32();
  if (h.payload_length > kMaxPayload) return absl::ResourceExhaustedError("A4: payload too large");
  return h;
}

std::string EncodeRequest(const Request& request) {
  std::string body;
  size_t trailing = 0;
  uint8_t flags = 0;
  switch (request.op) {
    case Op::kPing:
    case Op::kStat:
      break;
    case Op::kRead:
      Put64(&body, request.inode);
      Put64(&body, request.offset);
      Put32(&body, static_cast<uint32_t>(request.length));
      break;
    case Op::kWrite:
      Put64(&body, request.inode);
      Put64(&body, request.offset);
      flags = static_cast<uint8_t>(request.stability);
      trailing = request.data.size();
      break;
    case Op::kCommit:
    case Op::kRemove:
      Put64(&body, request.inode);
      break;
    case Op::kTruncate:
    case Op::kMap:
      Put64(&body, request.inode);
      if (request.op == Op::kMap) Put64(&body, request.offset);
      Put64(&body, request.length);
      break;
  }
  return Frame(Kind::kRequest, request.op, flags, request.request_id, request.timeout_ms, body,
               trailing);
}

absl::StatusOr<Request> DecodeRequest(const Header& header, absl::string_view payload) {
  if (header.kind != Kind::kRequest) return Malformed("not a request");
  if (payload.size() != header.payload_length) return Malformed("payload size");
  Request req;
  req.op = header.op;
  req.request_id = header.request_id;
  req.timeout_ms = header.aux;
  Reader r(payload);
  switch (header.op) {
    case Op::kPing:
    case Op::kStat:
      break;
    case Op::kRead:
      req.inode = r.U64();
      req.offset = r.U64();
      req.length = r.U32();
      if (r.ok() && req.length > kMaxData) return Malformed("read too large");
      break;
    case Op::kWrite:
      req.inode = r.U64();
      req.offset = r.U64();
      req.stability = static_cast<backend::Stability>(header.flags);
      req.data = r.Rest();
      if (req.data.size() > kMaxData) return Malformed("write too large");
      break;
    case Op::kCommit:
    case Op::kRemove:
      req.inode = r.U64();
      break;
    case Op::kTruncate:
      req.inode = r.U64();
      req.length = r.U64();
      break;
    case Op::kMap:
      req.inode = r.U64();
      req.offset = r.U64();
      req.length = r.U64();
      break;
  }
  if (!r.ok()) return Malformed("truncated request");
  if (!r.AtEnd()) return Malformed("trailing bytes in request");
  return req;
}

std::string EncodeResponse(const Response& response) {
  std::string body;
  size_t trailing = 0;
  uint8_t flags = 0;
  if (!response.status.ok()) {
    body = std::string(response.status.message().substr(0, 1024));
  } else {
    switch (response.op) {
      case Op::kPing:
      case Op::kCommit:
        Put64(&body, response.verifier);
        break;
      case Op::kRead:
        Put8(&body, response.eof ? 1 : 0);
        trailing = response.data.size();
        break;
      case Op::kWrite:
        Put64(&body, response.count);
        Put64(&body, response.verifier);
        flags = static_cast<uint8_t>(response.stability);
        break;
      case Op::kTruncate:
      case Op::kRemove:
        break;
      case Op::kMap:
        Put32(&body, static_cast<uint32_t>(response.ranges.size()));
        for (const DataRange& range : response.ranges) {
          Put64(&body, range.offset);
          Put64(&body, range.length);
        }
        break;
      case Op::kStat:
        Put64(&body, response.total_bytes);
        Put64(&body, response.free_bytes);
        Put64(&body, response.available_bytes);
        Put64(&body, response.filesystem_id);
        break;
    }
  }
  return Frame(Kind::kResponse, response.op, flags, response.request_id,
               EncodeStatus(response.status), body, trailing);
}

absl::StatusOr<Response> DecodeResponse(const Header& header, absl::string_view payload) {
  if (header.kind != Kind::kResponse) return Malformed("not a response");
  if (payload.size() != header.payload_length) return Malformed("payload size");
  Response resp;
  resp.op = header.op;
  resp.request_id = header.request_id;
  if (header.aux != 0) {
    if (header.flags != 0) return Malformed("flags on an error response");
    resp.status = DecodeStatus(header.aux, payload);
    return resp;
  }
  Reader r(payload);
  switch (header.op) {
    case Op::kPing:
    case Op::kCommit:
      resp.verifier = r.U64();
      break;
    case Op::kRead: {
      uint8_t eof = r.U8();
      if (r.ok() && eof > 1) return Malformed("bad eof flag");
      resp.eof = eof == 1;
      resp.data = r.Rest();
      break;
    }
    case Op::kWrite:
      resp.count = r.U64();
      resp.verifier = r.U64();
      resp.stability = static_cast<backend::Stability>(header.flags);
      break;
    case Op::kTruncate:
    case Op::kRemove:
      break;
    case Op::kMap: {
      uint32_t n = r.U32();
      if (!r.ok() || n > kMaxRanges) return Malformed("bad range count");
      resp.ranges.reserve(n);
      for (uint32_t i = 0; i < n && r.ok(); ++i) {
        DataRange range;
        range.offset = r.U64();
        range.length = r.U64();
        resp.ranges.push_back(range);
      }
      break;
    }
    case Op::kStat:
      resp.total_bytes = r.U64();
      resp.free_bytes = r.U64();
      resp.available_bytes = r.U64();
      resp.filesystem_id = r.U64();
      if (r.ok() &&
          (resp.free_bytes > resp.total_bytes || resp.available_bytes > resp.free_bytes)) {
        return Malformed("stat: more free than total");
      }
      break;
  }
  if (!r.ok()) return Malformed("truncated response");
  if (!r.AtEnd()) return Malformed("trailing bytes in response");
  return resp;
}

}  // namespace cfs::remote::a4
