// XML for S3: a small writer for response documents (escaping is the only subtle part) and
// parsers, on pugixml, for the request bodies S3 clients send. Parsers refuse documents over
// their size limit, with DOCTYPE, or of the wrong shape (MalformedXML).
#ifndef CFS_LIB_PROTOCOLS_S3_XML_H_
#define CFS_LIB_PROTOCOLS_S3_XML_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace cfs::s3 {

inline constexpr absl::string_view kS3Namespace = "http://s3.amazonaws.com/doc/2006-03-01/";
inline constexpr size_t kMaxXmlBody = 2 << 20;

// Builds `<?xml ...?><Root xmlns=...>...</Root>`.
class XmlWriter {
 public:
  explicit XmlWriter(absl::string_view root);
  XmlWriter& Open(absl::string_view name);
  XmlWriter& Close(absl::string_view name);
  XmlWriter& Element(absl::string_view name, absl::string_view text);
  // Appends markup that is already well-formed and escaped.
  XmlWriter& Raw(absl::string_view xml);
  std::string Finish();

 private:
  std::string root_;
  std::string out_;
};

std::string XmlEscape(absl::string_view text);

struct DeleteRequest {
  struct Object {
    std::string key;
    std::string version_id;
    // Conditions the object must meet to be deleted (AWS's conditional deletes).
    std::optional<std::string> etag;                // as sent, quotes kept
    std::optional<std::string> last_modified_time;  // ISO 8601
    std::optional<uint64_t> size;
  };
  std::vector<Object> objects;
  bool quiet = false;
};
struct CompletePart {
  int part_number = 0;
  std::string etag;  // as sent, quotes removed
};

// Errors: kInvalidArgument with a message (maps to MalformedXML).
absl::StatusOr<DeleteRequest> ParseDeleteRequest(absl::string_view xml);
absl::StatusOr<std::vector<CompletePart>> ParseCompleteMultipart(absl::string_view xml);
// Errors: kInvalidArgument (MalformedXML), kOutOfRange for a tag set S3 refuses (InvalidTag).
absl::StatusOr<std::map<std::string, std::string>> ParseTagging(absl::string_view xml);
// S3's limits on a tag (key 1-128 characters, value up to 256) and on a set (10 per object).
// Errors: kOutOfRange (InvalidTag).
absl::Status ValidateTag(absl::string_view key, absl::string_view value);
absl::Status ValidateTagCount(size_t count);
// The LocationConstraint of a CreateBucketConfiguration (empty body: "").
absl::StatusOr<std::string> ParseCreateBucketConfiguration(absl::string_view xml);

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_XML_H_
