#include "lib/protocols/smb/smb2_messages.h"

#include <fstream>
#include <sstream>

#include "gtest/gtest.h"
#include "lib/protocols/smb/le_bytes.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::smb {
namespace {

// Requests built by impacket 0.10's smb3structs (an independent encoder), in the fuzz corpus.
std::string Corpus(const std::string& name) {
  std::ifstream in("lib/protocols/smb/testdata/smb2_messages_corpus/" + name, std::ios::binary);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

TEST(Smb2MessagesTest, DecodesImpacketCreate) {
  absl::StatusOr<CreateRequest> c = DecodeCreate(Corpus("create"));
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->name, "dir\\file.txt");
  EXPECT_EQ(c->desired_access, 0x12019fu);
  EXPECT_EQ(c->share_access, 7u);
  EXPECT_EQ(c->disposition, 3u);
  EXPECT_EQ(c->options, 0x40u);
  EXPECT_TRUE(c->contexts.empty());
}

TEST(Smb2MessagesTest, DecodesImpacketWriteReadLockAndSetInfo) {
  std::string write = Corpus("write");  // the request's data is a view into it
  absl::StatusOr<WriteRequest> w = DecodeWrite(write);
  ASSERT_TRUE(w.ok()) << w.status();
  EXPECT_EQ(w->data, "hello world");
  EXPECT_EQ(w->offset, 4096u);
  EXPECT_EQ(w->file.persistent, 0x0101010101010101u);
  absl::StatusOr<ReadRequest> r = DecodeRead(Corpus("read"));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->length, 65536u);
  absl::StatusOr<LockRequest> l = DecodeLock(Corpus("lock"));
  ASSERT_TRUE(l.ok()) << l.status();
  ASSERT_EQ(l->locks.size(), 1u);
  EXPECT_EQ(l->locks[0].length, 100u);
  EXPECT_EQ(l->locks[0].flags, kLockExclusive);
  absl::StatusOr<SetInfoRequest> s = DecodeSetInfo(Corpus("set_info"));
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->info_class, 10);
  absl::StatusOr<TreeConnectRequest> t = DecodeTreeConnect(Corpus("tree_connect"));
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->path, "\\\\127.0.0.1\\share");
  absl::StatusOr<QueryDirectoryRequest> q = DecodeQueryDirectory(Corpus("query_directory"));
  ASSERT_TRUE(q.ok()) << q.status();
  EXPECT_EQ(q->pattern, "*");
  EXPECT_EQ(q->info_class, 0x25);
}

TEST(Smb2MessagesTest, RefusesTruncatedAndOutOfBoundsBuffers) {
  std::string create = Corpus("create");
  EXPECT_THAT(DecodeCreate(create.substr(0, 64 + 40)),
              StatusIs(absl::StatusCode::kInvalidArgument));
  std::string bad = create;
  bad[64 + 46] = static_cast<char>(0xFF);  // NameLength far past the end
  EXPECT_THAT(DecodeCreate(bad), StatusIs(absl::StatusCode::kInvalidArgument));
  std::string odd = create;
  odd[64 + 46] = 3;  // an odd UTF-16 length
  EXPECT_THAT(DecodeCreate(odd), StatusIs(absl::StatusCode::kInvalidArgument));
  std::string wrong_size = create;
  wrong_size[64] = 56;
  EXPECT_THAT(DecodeCreate(wrong_size), StatusIs(absl::StatusCode::kInvalidArgument));
  std::string write = Corpus("write");
  write[64 + 4] = static_cast<char>(0xF0);  // Length past the message
  EXPECT_THAT(DecodeWrite(write), StatusIs(absl::StatusCode::kInvalidArgument));
  std::string lock = Corpus("lock");
  lock[64 + 2] = 9;  // nine locks, one present
  EXPECT_THAT(DecodeLock(lock), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(DecodeEmpty(std::string(65, '\0')), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(Smb2MessagesTest, CreateResponseLaysOutContextsAligned) {
  CreateResponse r;
  r.file = FileId{7, 7};
  r.contexts.push_back({"MxAc", std::string(8, 'a')});
  r.contexts.push_back({"QFid", std::string(32, 'q')});
  std::string body = EncodeCreateResponse(r);
  ASSERT_GE(body.size(), 88u);
  EXPECT_EQ(Le16(body, 0), 89);
  uint32_t offset = Le32(body, 80);
  uint32_t length = Le32(body, 84);
  EXPECT_EQ(offset, 64u + 88u);
  EXPECT_EQ(body.size(), 88u + length);
  absl::string_view chain = absl::string_view(body).substr(88);
  uint32_t next = Le32(chain, 0);
  EXPECT_EQ(next % 8, 0u);
  EXPECT_EQ(chain.substr(Le16(chain, 4), 4), "MxAc");
  absl::string_view second = chain.substr(next);
  EXPECT_EQ(Le32(second, 0), 0u);
  EXPECT_EQ(second.substr(Le16(second, 4), 4), "QFid");
  EXPECT_EQ(second.substr(Le16(second, 10), Le32(second, 12)), std::string(32, 'q'));
}

}  // namespace
}  // namespace cfs::smb
