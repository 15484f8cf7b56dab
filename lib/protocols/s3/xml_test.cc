#include "lib/protocols/s3/xml.h"

#include "gtest/gtest.h"
#include "lib/protocols/s3/s3_error.h"
#include "testing/status_matchers.h"

using ::cfs::testing::StatusIs;

namespace cfs::s3 {
namespace {

TEST(XmlWriterTest, EscapesTextAndClosesTheRoot) {
  XmlWriter xml("ListBucketResult");
  xml.Element("Key", "a<b>&\"c'\r").Open("Owner").Element("ID", "1").Close("Owner");
  std::string out = xml.Finish();
  EXPECT_NE(out.find("<Key>a&lt;b&gt;&amp;&quot;c&apos;&#13;</Key>"), std::string::npos) << out;
  EXPECT_NE(out.find("xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\""), std::string::npos);
  EXPECT_EQ(out.substr(out.size() - 19), "</ListBucketResult>");
  EXPECT_EQ(XmlEscape(std::string("\x01", 1)), "&#1;");
}

TEST(XmlParseTest, DeleteRequest) {
  absl::StatusOr<DeleteRequest> r = ParseDeleteRequest(
      "<Delete xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Quiet>true</Quiet>"
      "<Object><Key>a &amp; b</Key></Object><Object><Key>c</Key><VersionId>v</VersionId>"
      "</Object></Delete>");
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->quiet);
  ASSERT_EQ(r->objects.size(), 2u);
  EXPECT_EQ(r->objects[0].key, "a & b");
  EXPECT_EQ(r->objects[1].version_id, "v");
  EXPECT_THAT(ParseDeleteRequest("<Delete></Delete>"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDeleteRequest("<Delete><Object></Object></Delete>"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDeleteRequest("<Other/>"), StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(ParseDeleteRequest("<Delete><Object><Key>a</Key>"),
              StatusIs(absl::StatusCode::kInvalidArgument));
  // Entity expansion is refused outright.
  EXPECT_FALSE(ParseDeleteRequest("<!DOCTYPE d [<!ENTITY e \"x\">]><Delete><Object><Key>&e;"
                                  "</Key></Object></Delete>")
                   .ok());
  std::string many = "<Delete>";
  for (int i = 0; i < 1001; ++i) many += "<Object><Key>k</Key></Object>";
  EXPECT_THAT(ParseDeleteRequest(many + "</Delete>"), StatusIs(absl::StatusCode::kInvalidArgument));
}

TEST(XmlParseTest, CompleteMultipartAndTagging) {
  absl::StatusOr<std::vector<CompletePart>> parts = ParseCompleteMultipart(
      "<CompleteMultipartUpload><Part><ETag>\"e1\"</ETag><PartNumber>1</PartNumber></Part>"
      "<Part><PartNumber>2</PartNumber><ETag>e2</ETag></Part></CompleteMultipartUpload>");
  ASSERT_TRUE(parts.ok()) << parts.status();
  ASSERT_EQ(parts->size(), 2u);
  EXPECT_EQ((*parts)[0].etag, "e1");
  EXPECT_EQ((*parts)[1].part_number, 2);
  EXPECT_FALSE(ParseCompleteMultipart("<CompleteMultipartUpload><Part><PartNumber>x</PartNumber>"
                                      "</Part></CompleteMultipartUpload>")
                   .ok());
  absl::StatusOr<std::map<std::string, std::string>> tags =
      ParseTagging("<Tagging><TagSet><Tag><Key>a</Key><Value>1</Value></Tag></TagSet></Tagging>");
  ASSERT_TRUE(tags.ok());
  EXPECT_EQ(tags->at("a"), "1");
  EXPECT_FALSE(ParseTagging("<Tagging><TagSet><Tag><Key>a</Key></Tag><Tag><Key>a</Key></Tag>"
                            "</TagSet></Tagging>")
                   .ok());
  EXPECT_EQ(ParseCreateBucketConfiguration("").value(), "");
  EXPECT_EQ(ParseCreateBucketConfiguration("<CreateBucketConfiguration><LocationConstraint>eu-1"
                                           "</LocationConstraint></CreateBucketConfiguration>")
                .value(),
            "eu-1");
}

TEST(XmlParseTest, WhitespaceOnlyTextIsKept) {
  absl::StatusOr<DeleteRequest> request = ParseDeleteRequest(
      "<Delete>\n  <Object><Key> </Key><ETag>\"e1\"</ETag><Size>5</Size>"
      "</Object>\n</Delete>");
  ASSERT_TRUE(request.ok()) << request.status();
  ASSERT_EQ(request->objects.size(), 1u);
  EXPECT_EQ(request->objects[0].key, " ");
  EXPECT_EQ(request->objects[0].etag.value_or(""), "\"e1\"");
  EXPECT_EQ(request->objects[0].size.value_or(0), 5u);
  EXPECT_FALSE(request->objects[0].last_modified_time.has_value());
  absl::StatusOr<std::map<std::string, std::string>> tags =
      ParseTagging("<Tagging><TagSet>\n<Tag><Key>k</Key><Value> </Value></Tag></TagSet></Tagging>");
  ASSERT_TRUE(tags.ok()) << tags.status();
  EXPECT_EQ(tags->at("k"), " ");
}

TEST(XmlParseTest, TagSetsS3RefusesAreOutOfRange) {
  std::string eleven = "<Tagging><TagSet>";
  for (int i = 0; i < 11; ++i) {
    eleven += "<Tag><Key>k" + std::to_string(i) + "</Key><Value>v</Value></Tag>";
  }
  eleven += "</TagSet></Tagging>";
  EXPECT_EQ(ParseTagging(eleven).status().code(), absl::StatusCode::kOutOfRange);
  std::string long_key = "<Tagging><TagSet><Tag><Key>" + std::string(129, 'k') +
                         "</Key><Value>v</Value></Tag></TagSet></Tagging>";
  EXPECT_EQ(ParseTagging(long_key).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseTagging("<Tagging><TagSet><Tag>").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(S3ErrorTest, Document) {
  std::string xml = NoSuchKey().ToXml("/b/k<", "RID");
  EXPECT_NE(xml.find("<Code>NoSuchKey</Code>"), std::string::npos);
  EXPECT_NE(xml.find("<Resource>/b/k&lt;</Resource>"), std::string::npos);
  EXPECT_NE(xml.find("<RequestId>RID</RequestId>"), std::string::npos);
  EXPECT_EQ(FromStatus(absl::UnavailableError("down"), NoSuchKey()).http_status, 503);
  EXPECT_EQ(FromStatus(absl::UnavailableError("down"), NoSuchKey()).code, "SlowDown");
}

}  // namespace
}  // namespace cfs::s3
