// S3Handler: the S3 REST API on an ObjectStore. Handle() starts on the connection's loop
// thread, one request at a time per exchange: authenticates, routes by method, bucket, key and
// sub-resource, and answers with S3's XML documents and headers, or an S3 error document, from
// the store's callbacks (on backend threads) or the exchange's resumptions (on the loop). No
// step blocks.
//
// Ownership: borrows the user store and the object store, which outlive it.
#ifndef CFS_LIB_PROTOCOLS_S3_S3_HANDLER_H_
#define CFS_LIB_PROTOCOLS_S3_S3_HANDLER_H_

#include <map>
#include <memory>
#include <mutex>  // std::mutex: visible to ThreadSanitizer
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/functional/any_invocable.h"
#include "absl/time/time.h"
#include "lib/auth/export_policy.h"
#include "lib/auth/user_store.h"
#include "lib/observability/protocol_metrics.h"
#include "lib/protocols/http/http_server.h"
#include "lib/protocols/s3/object_store.h"
#include "lib/protocols/s3/request_body.h"
#include "lib/protocols/s3/s3_auth.h"
#include "lib/protocols/s3/xml.h"
#include "lib/quota/quota.h"

namespace cfs::s3 {

struct S3Options {
  // The export S3 serves: its client rules admit or refuse each request by address, its
  // read-only flag refuses every request but GET and HEAD, and its squashing maps the access
  // key's uid (root, or everyone) to the anonymous identity, as for NFS and SMB.
  auth::Export s3_export;
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
  void Handle(http::HttpExchange exchange) override;
  // The gateway's exports changed: requests from now on are held to `exp`'s rules.
  void SetExport(auth::Export exp);

  // One request's routing facts, shared by the operations. Held by shared_ptr: an operation
  // that waits for the client (a request body, a slow reader) continues from a callback that
  // holds it (shared_from_this), so no thread waits. Records the request's metrics when the
  // last holder lets go.
  struct Call : std::enable_shared_from_this<Call> {
    Call(S3Handler* handler, http::HttpExchange exchange);
    ~Call();
    Call(const Call&) = delete;
    Call& operator=(const Call&) = delete;
    S3Handler* const handler;
    const absl::Time arrived;
    http::HttpExchange held;
    http::HttpExchange* const exchange = &held;
    std::string request_id;
    std::string bucket;
    std::string key;
    std::string bucket_from_host;
    std::vector<std::pair<std::string, std::string>> query;
    AuthResult auth;  // identity as the export's squashing left it
    bool read_only = false;
    std::string op;          // the S3 operation routed to ("GetObject"), for metrics
    std::string error_code;  // the S3 error code answered ("NoSuchKey"), empty on success
    bool Has(absl::string_view name) const;
    std::string Param(absl::string_view name) const;
    const http::HttpRequest& request() const { return exchange->request(); }
  };

 private:
  // What may be asked of the service, a bucket or an object: method, sub-resource (empty:
  // none) and the operation. A request that matches no row changes nothing: 501
  // NotImplemented for a sub-resource this gateway does not serve, 405 for a method the target
  // does not take.
  struct Route {
    enum class Target { kService, kBucket, kObject };
    Target target;
    absl::string_view method;
    absl::string_view subresource;
    absl::string_view op;
    bool anonymous_ok;  // a public-read bucket serves it without credentials
    void (*run)(S3Handler& handler, Call& call);
  };
  // The operation `call` asks for, or null with the error to answer in `*refusal`.
  static const Route* FindRoute(const Call& call, S3Error* refusal);
  void SendError(Call& call, const S3Error& error);
  void SendXml(Call& call, int status, std::string body);
  void SendEmpty(Call& call, int status, http::HttpResponseHead head = {});
  std::string OwnerName(uint32_t uid) const;
  // A store callback that continues `call` with `fn(call, result)`, holding the call alive
  // until it runs (on whichever thread the store answers: `fn` must not block).
  template <typename T, typename Fn>
  ObjectStore::Done<T> Then(Call& call, Fn fn) {
    return [held = call.shared_from_this(), fn = std::move(fn)](S3Or<T> result) mutable {
      fn(*held, std::move(result));
    };
  }

  // Service and buckets.
  void ListBuckets(Call& call);
  void AnswerListBuckets(Call& call, S3Or<std::vector<BucketInfo>> buckets);
  void CreateBucket(Call& call);
  void CreateBucket(Call& call, const S3Or<std::string>& body);  // once the body is in
  void DeleteBucket(Call& call);
  void HeadBucket(Call& call);
  void GetBucketLocation(Call& call);
  void GetBucketAcl(Call& call);
  // The ACL as a view of the bucket directory's owner, group and mode (and its canned `acl`).
  void AnswerBucketAcl(Call& call, const backend::Attributes& bucket, const std::string& acl);
  void PutBucketAcl(Call& call);
  void PutBucketAcl(Call& call, const S3Or<std::string>& body);  // once the body is in
  // What an anonymous request may do: read objects and list buckets that are public-read.
  // Runs the route when allowed, answers the refusal otherwise.
  void RunAnonymous(Call& call, const Route& route);
  void GetBucketVersioning(Call& call);
  // The listing parameters every list shares (prefix, delimiter, max-keys, encoding-type);
  // `url` is set when keys are to be URL-encoded.
  S3Or<Ok> ParseListParameters(const Call& call, ListRequest* request, bool* url);
  // One page of the bucket; max-keys=0 only checks the bucket and answers an empty page.
  void ListPage(Call& call, const ListRequest& request, ObjectStore::Done<ListResult> done);
  void ListObjects(Call& call, bool v2);
  // Versioning is never enabled, so every object is its one version, "null" (as on AWS).
  void ListObjectVersions(Call& call);
  void DeleteObjects(Call& call);
  void DeleteObjects(Call& call, const S3Or<std::string>& body);  // once the body is in
  struct MultiDelete;
  void DeleteNextObject(Call& call, std::shared_ptr<MultiDelete> job);

  // Objects.
  void PutObject(Call& call);
  // PutObject's steps once the bucket is known: If-Match/If-None-Match, the quota, the staging
  // file, the body and the publish.
  void PutObjectIfConditions(Call& call, BucketInfo bucket, ObjectMeta meta);
  void PutObjectBody(Call& call, BucketInfo bucket, ObjectMeta meta);
  void PutObjectStage(Call& call, BucketInfo bucket, ObjectMeta meta,
                      std::shared_ptr<RequestBody> body);
  // Whether `bytes` (when known) and `objects` fit the quotas of the caller and of the bucket
  // at `bucket_dir`; QuotaExceeded otherwise.
  S3Or<Ok> CheckQuota(const Call& call, backend::InodeNumber bucket_dir,
                      std::optional<uint64_t> bytes, uint64_t objects);
  void CopyObject(Call& call);
  void CopyObjectInto(Call& call, ObjectInfo source, ObjectMeta meta);
  void AnswerCopy(Call& call, const backend::Attributes& object, const ObjectMeta& meta);
  // GET and HEAD: finds the object without waiting, then AnswerGet answers.
  void GetObject(Call& call, bool head);
  void AnswerGet(Call& call, bool head, S3Or<ObjectInfo> object);
  // A GET's body going out: each piece is read asynchronously and sent when it arrives, until
  // the client has a bound's worth queued; then it stops (no thread waits for a slow reader)
  // and goes on when the exchange resumes it.
  struct BodyStream : std::enable_shared_from_this<BodyStream> {
    void Step();                           // reads the piece at `offset`
    void Deliver(S3Or<std::string> data);  // sends it, then reads on or finishes
    std::shared_ptr<Call> call;
    ObjectStore* store = nullptr;
    backend::InodeNumber inode = 0;
    uint64_t offset = 0;
    uint64_t end = 0;
  };
  void DeleteObject(Call& call);
  // Conditional deletes: what the object must be for a DeleteObject(s) to remove it.
  struct DeleteConditions {
    std::optional<std::string> etag;  // an If-Match list, "*" for any
    std::optional<absl::Time> mtime;  // to the second
    std::optional<uint64_t> size;
  };
  // Deletes `key` of the call's bucket when `conditions` hold (PreconditionFailed otherwise);
  // a key that does not exist is deleted already, whatever the conditions.
  void DeleteIfAsync(Call& call, std::string key, const DeleteConditions& conditions,
                     ObjectStore::Done<Ok> done);
  void GetTagging(Call& call);
  void PutTagging(Call& call);
  void PutTagging(Call& call, const S3Or<std::string>& body);  // once the body is in
  void DeleteTagging(Call& call);
  // Replaces the object's tags (after Put/DeleteTagging checked them), answering `status`.
  void ReplaceTags(Call& call, std::map<std::string, std::string> tags, int status);

  // Multipart.
  void CreateMultipart(Call& call);
  void StartUpload(Call& call, const backend::Attributes& bucket, const ObjectMeta& meta);
  void UploadPart(Call& call);
  void UploadPartCopy(Call& call, UploadInfo upload, int part_number);
  void UploadPartBody(Call& call, UploadInfo upload, int part_number);
  void CompleteMultipart(Call& call);
  void CompleteMultipart(Call& call, const S3Or<std::string>& body);  // once the body is in
  // CompleteMultipart's work: the upload, its parts, the ones the client chose (pointers into
  // `parts`), the object's metadata and the answer; when the parts are not in place, the
  // staging file they are copied into and the next one to copy.
  struct Completion {
    UploadInfo upload;
    std::vector<PartInfo> parts;
    std::vector<const PartInfo*> chosen;
    ObjectMeta meta;
    std::string document;
    std::unique_ptr<StagedObject> staged;
    size_t next = 0;
    uint64_t sent_at = 0;  // staged bytes when whitespace last kept the connection alive
  };
  // Checks the client's list against the parts (order, ETags, sizes) and fills in `chosen`,
  // `meta` and `document`; the refusal otherwise.
  std::optional<S3Error> ChooseParts(const std::vector<CompletePart>& wanted, Completion* job);
  void CompleteByCopy(Call& call, std::shared_ptr<Completion> job);
  void CopyNextPart(Call& call, std::shared_ptr<Completion> job);
  void FailCompletion(Call& call, const S3Error& error);
  void AbortMultipart(Call& call);
  void ListParts(Call& call);
  void AnswerListParts(Call& call, const UploadInfo& upload, S3Or<std::vector<PartInfo>> parts);
  void ListMultipartUploads(Call& call);
  void AnswerListUploads(Call& call, S3Or<std::vector<UploadInfo>> uploads);

  // Reads a whole small body (XML) after authentication, holding no thread while the client
  // sends it, then runs `then` with it (or the S3 error) on a worker, `call` kept alive.
  void ReadSmallBody(Call& call, absl::AnyInvocable<void(Call&, S3Or<std::string>) &&> then);
  // Object metadata from request headers (Content-Type..., x-amz-meta-*, x-amz-tagging).
  S3Or<ObjectMeta> MetaFromHeaders(const Call& call);

  std::shared_ptr<const auth::Export> CurrentExport() const;

  S3Options options_;
  const auth::UserStore& users_;
  ObjectStore& store_;
  mutable std::mutex export_mu_;
  std::shared_ptr<const auth::Export> export_ ABSL_GUARDED_BY(export_mu_);
};

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_S3_HANDLER_H_
