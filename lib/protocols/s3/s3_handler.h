// S3Handler: the S3 REST API on an ObjectStore. Runs on the HTTP server's workers, one request
// at a time per exchange: authenticates, routes by method, bucket, key and sub-resource, and
// answers with S3's XML documents and headers, or an S3 error document.
//
// Ownership: borrows the user store and the object store, which outlive it.
#ifndef CFS_LIB_PROTOCOLS_S3_S3_HANDLER_H_
#define CFS_LIB_PROTOCOLS_S3_S3_HANDLER_H_

#include <map>
#include <string>
#include <vector>

#include "lib/auth/user_store.h"
#include "lib/observability/protocol_metrics.h"
#include "lib/protocols/http/http_server.h"
#include "lib/protocols/s3/object_store.h"
#include "lib/protocols/s3/s3_auth.h"
#include "lib/quota/quota.h"

namespace cfs::s3 {

struct S3Options {
  // Virtual-hosted-style addressing: requests to <bucket>.<base_domain> address <bucket>.
  // Empty: path style only.
  std::string base_domain;
  std::string region = "us-east-1";
  uint64_t max_object_size = 5ull << 30;  // a single PUT or part
  // Counts every request by operation and error code (null: no metrics). Borrowed.
  observability::ProtocolMetrics* metrics = nullptr;
  // Quotas, to refuse an upload whose declared size cannot fit before its body is read (the
  // backend's quota filter enforces them on every write anyway). Null: none. Borrowed.
  quota::QuotaService* quotas = nullptr;
};

class S3Handler : public http::HttpHandler {
 public:
  S3Handler(S3Options options, const auth::UserStore& users, ObjectStore& store);
  void Handle(http::HttpExchange& exchange) override;

  // One request's routing facts, shared by the operations.
  struct Call {
    http::HttpExchange* exchange = nullptr;
    std::string request_id;
    std::string bucket;
    std::string key;
    std::string bucket_from_host;
    std::vector<std::pair<std::string, std::string>> query;
    AuthResult auth;
    std::string op;          // the S3 operation routed to ("GetObject"), for metrics
    std::string error_code;  // the S3 error code answered ("NoSuchKey"), empty on success
    bool Has(absl::string_view name) const;
    std::string Param(absl::string_view name) const;
    const http::HttpRequest& request() const { return exchange->request(); }
  };

 private:
  void Route(Call& call);
  void SendError(Call& call, const S3Error& error);
  void SendXml(Call& call, int status, std::string body);
  void SendEmpty(Call& call, int status, http::HttpResponseHead head = {});
  std::string OwnerName(uint32_t uid) const;

  // Service and buckets.
  void ListBuckets(Call& call);
  void CreateBucket(Call& call);
  void DeleteBucket(Call& call);
  void HeadBucket(Call& call);
  void GetBucketLocation(Call& call);
  void GetBucketAcl(Call& call);
  void PutBucketAcl(Call& call);
  // What an anonymous request may do: read objects and list buckets that are public-read.
  S3Or<Ok> AllowAnonymous(const Call& call);
  void GetBucketVersioning(Call& call);
  void ListObjects(Call& call, bool v2);
  void DeleteObjects(Call& call);

  // Objects.
  void PutObject(Call& call);
  // Whether `bytes` (when known) and `objects` fit the quotas of the caller and of the bucket
  // at `bucket_dir`; QuotaExceeded otherwise.
  S3Or<Ok> CheckQuota(const Call& call, backend::InodeNumber bucket_dir,
                      std::optional<uint64_t> bytes, uint64_t objects);
  void CopyObject(Call& call);
  void GetObject(Call& call, bool head);
  void DeleteObject(Call& call);
  void GetTagging(Call& call);
  void PutTagging(Call& call);
  void DeleteTagging(Call& call);

  // Multipart.
  void CreateMultipart(Call& call);
  void UploadPart(Call& call);
  void CompleteMultipart(Call& call);
  void AbortMultipart(Call& call);
  void ListParts(Call& call);
  void ListMultipartUploads(Call& call);

  // Reads a whole small body (XML) after authentication. Errors as S3 errors.
  S3Or<std::string> ReadSmallBody(Call& call);
  // Object metadata from request headers (Content-Type..., x-amz-meta-*, x-amz-tagging).
  S3Or<ObjectMeta> MetaFromHeaders(const Call& call);

  S3Options options_;
  const auth::UserStore& users_;
  ObjectStore& store_;
};

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_S3_HANDLER_H_
