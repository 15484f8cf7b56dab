#include "lib/common/buffer.h"

#include <string>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace cfs {
namespace {

// A Buffer of `text` cut into one slice per piece of `sizes` (the rest in a last slice).
Buffer Chain(absl::string_view text, const std::vector<size_t>& sizes) {
  Buffer b;
  for (size_t n : sizes) {
    b.Append(Buffer::Adopt(std::string(text.substr(0, n)) + std::string(300, 'x')).Take(n));
    text.remove_prefix(n);
  }
  if (!text.empty()) b.Append(Buffer::Wrap(nullptr, text));
  return b;
}

TEST(BufferTest, AdoptKeepsTheStringsBytesWithoutCopying) {
  std::string big(10000, 'a');
  const char* where = big.data();
  Buffer b = Buffer::Adopt(std::move(big));
  ASSERT_EQ(b.slices().size(), 1u);
  EXPECT_EQ(b.slices()[0].bytes.data(), where);
  EXPECT_EQ(b.size(), 10000u);
}

TEST(BufferTest, SmallAppendedCopiesShareOneBlock) {
  Buffer b;
  for (int i = 0; i < 100; ++i) b.AppendCopy("0123456789");
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_EQ(b.slices().size(), 1u);
  EXPECT_EQ(b.ToString(), [] {
    std::string s;
    for (int i = 0; i < 100; ++i) s += "0123456789";
    return s;
  }());
}

TEST(BufferTest, AppendCopyStartsANewBlockWhenTheLastIsFull) {
  Buffer b;
  b.AppendCopy(std::string(4000, 'a'));
  b.AppendCopy(std::string(200, 'b'));
  EXPECT_EQ(b.size(), 4200u);
  EXPECT_EQ(b.slices().size(), 2u);
  EXPECT_EQ(b.ToString(), std::string(4000, 'a') + std::string(200, 'b'));
}

TEST(BufferTest, ACopyDoesNotWriteIntoTheOriginalsBlock) {
  Buffer a;
  a.AppendCopy("abc");
  Buffer b = a;
  b.AppendCopy("XYZ");
  a.AppendCopy("def");
  EXPECT_EQ(a.ToString(), "abcdef");
  EXPECT_EQ(b.ToString(), "abcXYZ");
}

TEST(BufferTest, TakeSplitsASliceWithoutCopying) {
  Buffer b = Buffer::Adopt(std::string(1000, 'q') + std::string(1000, 'r'));
  const char* start = b.slices()[0].bytes.data();
  Buffer head = b.Take(1000);
  EXPECT_EQ(head.size(), 1000u);
  EXPECT_EQ(b.size(), 1000u);
  EXPECT_EQ(head.slices()[0].bytes.data(), start);
  EXPECT_EQ(b.slices()[0].bytes.data(), start + 1000);
  EXPECT_TRUE(head.Equals(std::string(1000, 'q')));
  EXPECT_TRUE(b.Equals(std::string(1000, 'r')));
}

TEST(BufferTest, TakeMoreThanThereIsTakesEverything) {
  Buffer b = Buffer::CopyOf("hello");
  Buffer all = b.Take(100);
  EXPECT_EQ(all.ToString(), "hello");
  EXPECT_TRUE(b.empty());
  EXPECT_TRUE(b.slices().empty());
}

TEST(BufferTest, EverySplitPointOfAChainGivesTheSameBytes) {
  const std::string text = "The quick brown fox jumps over the lazy dog";
  for (size_t cut = 0; cut <= text.size(); ++cut) {
    Buffer b = Chain(text, {3, 7, 1, 10});
    Buffer head = b.Take(cut);
    EXPECT_EQ(head.ToString(), text.substr(0, cut)) << cut;
    EXPECT_EQ(b.ToString(), text.substr(cut)) << cut;
    EXPECT_EQ(head.size() + b.size(), text.size());
  }
}

TEST(BufferTest, SubAndCopyOutAcrossSlices) {
  const std::string text = "abcdefghijklmnopqrstuvwxyz";
  Buffer b = Chain(text, {5, 5, 5});
  for (size_t off = 0; off <= text.size() + 1; ++off) {
    for (size_t n = 0; n <= text.size() + 1; ++n) {
      std::string want = off < text.size() ? text.substr(off, n) : "";
      EXPECT_EQ(b.Sub(off, n).ToString(), want) << off << "," << n;
      std::string out(n, '\0');
      out.resize(b.CopyOut(off, n, out.data()));
      EXPECT_EQ(out, want) << off << "," << n;
    }
  }
  EXPECT_EQ(b.size(), text.size());  // Sub and CopyOut leave it as it was
}

TEST(BufferTest, FindAndAtAcrossSlices) {
  Buffer b = Chain("abc\r\ndef\r\n", {2, 1, 3});
  EXPECT_EQ(b.Find('\r'), 3u);
  EXPECT_EQ(b.Find('\r', 4), 8u);
  EXPECT_EQ(b.Find('z'), Buffer::npos);
  EXPECT_EQ(b.At(5), 'd');
  EXPECT_EQ(b.At(9), '\n');
}

TEST(BufferTest, AppendMovesSlicesAndEmptiesTheSource) {
  Buffer a = Buffer::CopyOf("one,");
  Buffer b = Buffer::Adopt(std::string(500, 'z'));
  const char* where = b.slices()[0].bytes.data();
  a.Append(std::move(b));
  EXPECT_EQ(a.size(), 504u);
  EXPECT_EQ(a.slices()[1].bytes.data(), where);
  EXPECT_TRUE(b.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty
}

TEST(BufferTest, FlattenCopiesOnlyAChain) {
  Buffer one = Buffer::Adopt(std::string(1000, 'a'));
  const char* where = one.slices()[0].bytes.data();
  EXPECT_EQ(one.Flatten().data(), where);
  Buffer chain = Chain("0123456789", {2, 2});
  EXPECT_EQ(chain.Flatten(), "0123456789");
  EXPECT_EQ(chain.slices().size(), 1u);
  Buffer empty;
  EXPECT_TRUE(empty.Flatten().empty());
}

TEST(BufferTest, EmptyPiecesMakeNoSlices) {
  Buffer b;
  b.AppendCopy("");
  b.AppendAdopted("");
  b.Append(Buffer());
  b.Append(Buffer::Wrap(nullptr, ""));
  EXPECT_TRUE(b.slices().empty());
  EXPECT_TRUE(b.Equals(""));
}

TEST(BufferTest, WrappedBytesLiveAsLongAsTheOwner) {
  auto record = std::make_shared<std::string>(std::string(2000, 'w'));
  std::weak_ptr<std::string> watch = record;
  Buffer b = Buffer::Wrap(record, absl::string_view(*record).substr(100, 50));
  record.reset();
  EXPECT_FALSE(watch.expired());
  Buffer piece = b.Sub(10, 10);
  b.Clear();
  EXPECT_FALSE(watch.expired());
  EXPECT_EQ(piece.ToString(), std::string(10, 'w'));
  piece.Clear();
  EXPECT_TRUE(watch.expired());
}

TEST(BufferTest, CopiesReadOnOtherThreadsWhileTheOriginalGrows) {
  Buffer a;
  a.AppendCopy("start");
  std::vector<std::thread> readers;
  for (int i = 0; i < 4; ++i) {
    readers.emplace_back([copy = a] {
      for (int k = 0; k < 1000; ++k) ASSERT_EQ(copy.ToString(), "start");
    });
  }
  for (int k = 0; k < 1000; ++k) a.AppendCopy("more");
  for (std::thread& t : readers) t.join();
  EXPECT_EQ(a.size(), 5u + 4000u);
}

}  // namespace
}  // namespace cfs
