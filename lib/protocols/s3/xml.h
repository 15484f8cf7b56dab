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
absl::StatusOr<std::map<std::string, std::string>> ParseTagging(absl::string_view xml);
// The LocationConstraint of a CreateBucketConfiguration (empty body: "").
absl::StatusOr<std::string> ParseCreateBucketConfiguration(absl::string_view xml);

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_XML_H_
