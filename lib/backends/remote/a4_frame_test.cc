#include "lib/backends/remote/a4_frame.h"

#include <string>

#include "gtest/gtest.h"
#include "lib/backend/errors.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::remote::a4 {
namespace {

// Splits an encoded frame (head + trailing data) back into header and payload.
struct Split {
  Header header;
  std::string payload;
};
Split SplitFrame(const std::string& frame) {
  absl::StatusOr<Header> h = DecodeHeader(absl::string_view(frame).substr(0, kHeaderSize));
  EXPECT_TRUE(h.ok()) << h.status();
  return Split{*h, frame.substr(kHeaderSize)};
}

TEST(A4FrameTest, HeaderLayoutIsLittleEndianWithMagicFirst) {
  Request req;
  req.op = Op::kPing;
  req.request_id = 0x0102030405060708;
  req.timeout_ms = 5000;
  std::string frame = EncodeRequest(req);
  ASSERT_EQ(frame.size(), kHeaderSize);
  EXPECT_EQ(frame.substr(0, 4), "CFS4");
  EXPECT_EQ(frame[4], 1);  // version
  EXPECT_EQ(frame[5], 1);  // request
  EXPECT_EQ(frame[6], 1);  // ping
  EXPECT_EQ(static_cast<uint8_t>(frame[8]), 0x08);
  EXPECT_EQ(static_cast<uint8_t>(frame[15]), 0x01);
  Split s = SplitFrame(frame);
  EXPECT_EQ(s.header.aux, 5000u);
  EXPECT_EQ(s.header.payload_length, 0u);
}

TEST(A4FrameTest, WriteRequestCountsItsDataAndRoundTrips) {
  Request req;
  req.op = Op::kWrite;
  req.request_id = 9;
  req.inode = 42;
  req.offset = 1 << 20;
  req.stability = backend::Stability::kFileSync;
  req.data = "hello world";
  std::string frame = EncodeRequest(req) + std::string(req.data);
  Split s = SplitFrame(frame);
  EXPECT_EQ(s.header.payload_length, 16u + 11u);
  absl::StatusOr<Request> back = DecodeRequest(s.header, s.payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->op, Op::kWrite);
  EXPECT_EQ(back->request_id, 9u);
  EXPECT_EQ(back->inode, 42u);
  EXPECT_EQ(back->offset, 1u << 20);
  EXPECT_EQ(back->stability, backend::Stability::kFileSync);
  EXPECT_EQ(back->data, "hello world");
}

TEST(A4FrameTest, EveryRequestOpRoundTrips) {
  for (Op op : {Op::kPing, Op::kRead, Op::kCommit, Op::kTruncate, Op::kRemove, Op::kStat}) {
    Request req;
    req.op = op;
    req.request_id = 77;
    req.inode = 5;
    if (op == Op::kRead) {
      req.offset = 4096;
      req.length = 8192;
    }
    if (op == Op::kTruncate) req.length = 123456789;
    Split s = SplitFrame(EncodeRequest(req));
    absl::StatusOr<Request> back = DecodeRequest(s.header, s.payload);
    ASSERT_TRUE(back.ok()) << static_cast<int>(op) << ": " << back.status();
    EXPECT_EQ(back->op, op);
    EXPECT_EQ(back->inode, op == Op::kPing || op == Op::kStat ? 0u : 5u);
    if (op == Op::kRead) {
      EXPECT_EQ(back->offset, 4096u);
      EXPECT_EQ(back->length, 8192u);
    }
    if (op == Op::kTruncate) {
      EXPECT_EQ(back->length, 123456789u);
    }
  }
}

TEST(A4FrameTest, ReadResponseCarriesDataAndEof) {
  Response resp;
  resp.op = Op::kRead;
  resp.request_id = 3;
  resp.eof = true;
  std::string data(1000, 'x');
  resp.data = data;
  std::string frame = EncodeResponse(resp) + data;
  Split s = SplitFrame(frame);
  absl::StatusOr<Response> back = DecodeResponse(s.header, s.payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_TRUE(back->status.ok());
  EXPECT_TRUE(back->eof);
  EXPECT_EQ(back->data, data);
}

TEST(A4FrameTest, WriteResponseCarriesCountStabilityAndVerifier) {
  Response resp;
  resp.op = Op::kWrite;
  resp.request_id = 4;
  resp.count = 65536;
  resp.stability = backend::Stability::kDataSync;
  resp.verifier = 0xfeedface;
  Split s = SplitFrame(EncodeResponse(resp));
  absl::StatusOr<Response> back = DecodeResponse(s.header, s.payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->count, 65536u);
  EXPECT_EQ(back->stability, backend::Stability::kDataSync);
  EXPECT_EQ(back->verifier, 0xfeedfaceu);
}

TEST(A4FrameTest, MapRequestAndResponseRoundTrip) {
  Request req;
  req.op = Op::kMap;
  req.request_id = 12;
  req.inode = 9;
  req.offset = 4096;
  req.length = 1 << 30;
  Split s = SplitFrame(EncodeRequest(req));
  absl::StatusOr<Request> back = DecodeRequest(s.header, s.payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->offset, 4096u);
  EXPECT_EQ(back->length, 1u << 30);

  Response resp;
  resp.op = Op::kMap;
  resp.request_id = 12;
  resp.ranges = {{0, 4096}, {1 << 20, 8192}};
  s = SplitFrame(EncodeResponse(resp));
  absl::StatusOr<Response> map = DecodeResponse(s.header, s.payload);
  ASSERT_TRUE(map.ok()) << map.status();
  ASSERT_EQ(map->ranges.size(), 2u);
  EXPECT_EQ(map->ranges[1].offset, 1u << 20);
  EXPECT_EQ(map->ranges[1].length, 8192u);
  // A count that the payload does not hold is malformed.
  EXPECT_THAT(DecodeResponse(s.header, s.payload.substr(0, 4 + 16)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(A4FrameTest, StatResponseCarriesTheFileSystemsSpaceAndId) {
  Response resp;
  resp.op = Op::kStat;
  resp.request_id = 3;
  resp.total_bytes = 1ULL << 40;
  resp.free_bytes = 1ULL << 39;
  resp.available_bytes = (1ULL << 39) - 4096;
  resp.filesystem_id = 0xfeedbeefULL;
  Split s = SplitFrame(EncodeResponse(resp));
  EXPECT_EQ(s.payload.size(), 32u);
  absl::StatusOr<Response> back = DecodeResponse(s.header, s.payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->total_bytes, 1ULL << 40);
  EXPECT_EQ(back->free_bytes, 1ULL << 39);
  EXPECT_EQ(back->available_bytes, (1ULL << 39) - 4096);
  EXPECT_EQ(back->filesystem_id, 0xfeedbeefULL);
  // More free than total is not a file system.
  resp.free_bytes = resp.total_bytes + 1;
  s = SplitFrame(EncodeResponse(resp));
  EXPECT_THAT(DecodeResponse(s.header, s.payload), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeResponse(s.header, s.payload.substr(0, 24)),
              StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(A4FrameTest, ErrorResponseKeepsCodeFsErrorAndMessage) {
  Response resp;
  resp.op = Op::kWrite;
  resp.request_id = 5;
  resp.status = backend::FsErrorStatus(backend::FsError::kNoSpace, "disk full");
  Split s = SplitFrame(EncodeResponse(resp));
  absl::StatusOr<Response> back = DecodeResponse(s.header, s.payload);
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(backend::GetFsError(back->status), backend::FsError::kNoSpace);
  EXPECT_EQ(back->status.message(), "disk full");

  resp.status = absl::DeadlineExceededError("too late");
  s = SplitFrame(EncodeResponse(resp));
  back = DecodeResponse(s.header, s.payload);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->status.code(), absl::StatusCode::kDeadlineExceeded);
  EXPECT_FALSE(backend::GetFsError(back->status).has_value());
}

TEST(A4FrameTest, BadHeadersAreRejected) {
  Request req;
  req.op = Op::kCommit;
  req.inode = 1;
  std::string good = EncodeRequest(req).substr(0, kHeaderSize);
  ASSERT_TRUE(DecodeHeader(good).ok());
  EXPECT_EQ(DecodeHeader(good.substr(0, 10)).status().code(), absl::StatusCode::kInvalidArgument);
  std::string bad = good;
  bad[0] = 'X';  // magic
  EXPECT_EQ(DecodeHeader(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = good;
  bad[4] = 2;  // version
  EXPECT_EQ(DecodeHeader(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = good;
  bad[5] = 3;  // kind
  EXPECT_EQ(DecodeHeader(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = good;
  bad[6] = 9;  // op
  EXPECT_EQ(DecodeHeader(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = good;
  bad[7] = 1;  // stability flags on a commit
  EXPECT_EQ(DecodeHeader(bad).status().code(), absl::StatusCode::kInvalidArgument);
  bad = good;
  bad[20] = bad[21] = bad[22] = bad[23] = '\xff';  // 4 GiB payload
  EXPECT_EQ(DecodeHeader(bad).status().code(), absl::StatusCode::kResourceExhausted);
}

TEST(A4FrameTest, TruncatedOrPaddedPayloadsAreRejected) {
  Request req;
  req.op = Op::kTruncate;
  req.inode = 8;
  req.length = 100;
  Split s = SplitFrame(EncodeRequest(req));
  EXPECT_THAT(DecodeRequest(s.header, s.payload.substr(0, 5)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  Header longer = s.header;
  longer.payload_length += 1;
  EXPECT_THAT(DecodeRequest(longer, s.payload + "x"), StatusIs(absl::StatusCode::kInvalidArgument));
  // A response frame is not a request, and the reverse.
  EXPECT_THAT(DecodeResponse(s.header, s.payload), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(A4FrameTest, OversizedReadIsRejected) {
  Request req;
  req.op = Op::kRead;
  req.inode = 1;
  req.length = kMaxData + 1;
  Split s = SplitFrame(EncodeRequest(req));
  EXPECT_EQ(DecodeRequest(s.header, s.payload).status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace cfs::remote::a4
