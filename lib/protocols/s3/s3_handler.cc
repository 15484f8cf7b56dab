// S3Handler: request routing, authentication, errors, and the service and bucket operations
// (listing included). Object and multipart operations are in s3_object_ops.cc.
#include "lib/protocols/s3/s3_handler.h"

#include <openssl/rand.h>

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "lib/common/logging.h"
#include "lib/common/serial_loop.h"
#include "lib/protocols/s3/digests.h"
#include "lib/protocols/s3/object_store_helpers.h"
#include "lib/protocols/s3/request_body.h"
#include "lib/protocols/s3/s3_format.h"
#include "lib/protocols/s3/sigv4.h"
#include "lib/protocols/s3/xml.h"

namespace cfs::s3 {

bool S3Handler::Call::Has(absl::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return true;
  }
  return false;
}

std::string S3Handler::Call::Param(absl::string_view name) const {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return "";
}

S3Handler::S3Handler(S3Options options, const auth::UserStore& users, ObjectStore& store)
    : options_(std::move(options)),
      users_(users),
      store_(store),
      export_(std::make_shared<const auth::Export>(options_.s3_export)) {}

void S3Handler::SetExport(auth::Export exp) {
  auto next = std::make_shared<const auth::Export>(std::move(exp));
  std::lock_guard<std::mutex> lock(export_mu_);
  export_ = std::move(next);
}

std::shared_ptr<const auth::Export> S3Handler::CurrentExport() const {
  std::lock_guard<std::mutex> lock(export_mu_);
  return export_;
}

S3Handler::Call::Call(S3Handler* handler, http::HttpExchange exchange)
    : handler(handler), arrived(absl::Now()), held(std::move(exchange)) {}

S3Handler::Call::~Call() {
  if (handler->options_.metrics == nullptr) return;
  handler->options_.metrics->Record(op.empty() ? "Unrouted" : op, error_code, absl::Now() - arrived,
                                    exchange->body_bytes_read(), exchange->body_bytes_sent());
}

void S3Handler::Handle(http::HttpExchange exchange) {
  auto held = std::make_shared<Call>(this, std::move(exchange));
  Call& call = *held;
  unsigned char id[8];
  RAND_bytes(id, sizeof(id));
  call.request_id = absl::AsciiStrToUpper(
      HexEncode(absl::string_view(reinterpret_cast<const char*>(id), sizeof(id))));
  const http::HttpRequest& r = call.request();

  if (!http::ParseQuery(r.RawQuery(), &call.query)) {
    SendError(call, InvalidArgument("Bad percent-escape in the query string"));
    return;
  }
  std::string path;
  if (!http::PercentDecode(r.RawPath(), &path)) {
    SendError(call, InvalidArgument("Bad percent-escape in the path"));
    return;
  }
  // Virtual-hosted style: <bucket>.<base_domain>[:port].
  if (!options_.base_domain.empty()) {
    std::string host(r.Header("host").value_or(""));
    size_t colon = host.rfind(':');
    if (colon != std::string::npos && host.find(']') == std::string::npos) host.resize(colon);
    host = absl::AsciiStrToLower(host);
    std::string suffix = "." + options_.base_domain;
    if (absl::EndsWith(host, suffix) && host.size() > suffix.size()) {
      call.bucket_from_host = host.substr(0, host.size() - suffix.size());
    }
  }
  absl::string_view rest(path);
  absl::ConsumePrefix(&rest, "/");
  if (!call.bucket_from_host.empty()) {
    call.bucket = call.bucket_from_host;
    call.key = std::string(rest);
  } else {
    size_t slash = rest.find('/');
    call.bucket = std::string(rest.substr(0, slash));
    if (slash != absl::string_view::npos) call.key = std::string(rest.substr(slash + 1));
  }

  AuthInput input{&r, call.bucket_from_host, absl::Now()};
  S3Or<AuthResult> auth = Authenticate(input, users_);
  if (!auth.ok()) {
    SendError(call, auth.error());
    return;
  }
  call.auth = *std::move(auth);
  // One export policy for every protocol: the client's address, read-only, squashing.
  absl::StatusOr<auth::ExportAccess> access =
      auth::Authorize(*CurrentExport(), call.exchange->peer_address(), call.auth.identity);
  if (!access.ok()) {
    return SendError(call, AccessDenied("This client is not admitted to the export S3 serves"));
  }
  call.auth.identity = access->identity;
  call.read_only = access->read_only;
  S3Error refusal;
  const Route* route = FindRoute(call, &refusal);
  if (route == nullptr) return SendError(call, refusal);
  call.op = std::string(route->op);
  if (call.read_only && r.method != "GET" && r.method != "HEAD") {
    return SendError(call, AccessDenied("The export S3 serves is read-only for this client"));
  }
  CFS_LOG_REQUEST(DEBUG, "s3", call.request_id)
      << r.method << " " << r.target << " by " << call.auth.access_key;
  if (call.auth.anonymous) return RunAnonymous(call, *route);
  route->run(*this, call);
}

namespace {

// Query parameters that qualify an operation rather than select one. Every other parameter
// is a sub-resource, and only the sub-resources of kRoutes are served.
bool IsOrdinaryParameter(absl::string_view name) {
  static constexpr absl::string_view kOrdinary[] = {"prefix",
                                                    "delimiter",
                                                    "marker",
                                                    "max-keys",
                                                    "encoding-type",
                                                    "list-type",
                                                    "continuation-token",
                                                    "start-after",
                                                    "fetch-owner",
                                                    "key-marker",
                                                    "upload-id-marker",
                                                    "version-id-marker",
                                                    "max-uploads",
                                                    "max-parts",
                                                    "part-number-marker",
                                                    "partNumber",
                                                    "versionId",
                                                    "x-id",
                                                    "AWSAccessKeyId",
                                                    "Expires",
                                                    "Signature"};
  if (absl::StartsWithIgnoreCase(name, "x-amz-") || absl::StartsWith(name, "response-")) {
    return true;
  }
  return std::find(std::begin(kOrdinary), std::end(kOrdinary), name) != std::end(kOrdinary);
}

}  // namespace

const S3Handler::Route* S3Handler::FindRoute(const Call& call, S3Error* refusal) {
  using T = Route::Target;
  static const Route kRoutes[] = {
      {T::kService, "GET", "", "ListBuckets", false,
       [](S3Handler& h, Call& c) { h.ListBuckets(c); }},
      {T::kBucket, "GET", "", "ListObjects", true,
       [](S3Handler& h, Call& c) { h.ListObjects(c, c.Param("list-type") == "2"); }},
      {T::kBucket, "HEAD", "", "HeadBucket", true, [](S3Handler& h, Call& c) { h.HeadBucket(c); }},
      {T::kBucket, "PUT", "", "CreateBucket", false,
       [](S3Handler& h, Call& c) { h.CreateBucket(c); }},
      {T::kBucket, "DELETE", "", "DeleteBucket", false,
       [](S3Handler& h, Call& c) { h.DeleteBucket(c); }},
      {T::kBucket, "GET", "acl", "GetBucketAcl", false,
       [](S3Handler& h, Call& c) { h.GetBucketAcl(c); }},
      {T::kBucket, "PUT", "acl", "PutBucketAcl", false,
       [](S3Handler& h, Call& c) { h.PutBucketAcl(c); }},
      {T::kBucket, "GET", "location", "GetBucketLocation", false,
       [](S3Handler& h, Call& c) { h.GetBucketLocation(c); }},
      {T::kBucket, "GET", "versioning", "GetBucketVersioning", false,
       [](S3Handler& h, Call& c) { h.GetBucketVersioning(c); }},
      {T::kBucket, "GET", "versions", "ListObjectVersions", false,
       [](S3Handler& h, Call& c) { h.ListObjectVersions(c); }},
      {T::kBucket, "GET", "uploads", "ListMultipartUploads", false,
       [](S3Handler& h, Call& c) { h.ListMultipartUploads(c); }},
      {T::kBucket, "POST", "delete", "DeleteObjects", false,
       [](S3Handler& h, Call& c) { h.DeleteObjects(c); }},
      {T::kObject, "GET", "", "GetObject", true,
       [](S3Handler& h, Call& c) { h.GetObject(c, false); }},
      {T::kObject, "HEAD", "", "HeadObject", true,
       [](S3Handler& h, Call& c) { h.GetObject(c, true); }},
      {T::kObject, "PUT", "", "PutObject", false,
       [](S3Handler& h, Call& c) {
         if (c.request().Header("x-amz-copy-source").has_value()) {
           c.op = "CopyObject";
           return h.CopyObject(c);
         }
         h.PutObject(c);
       }},
      {T::kObject, "DELETE", "", "DeleteObject", false,
       [](S3Handler& h, Call& c) { h.DeleteObject(c); }},
      {T::kObject, "GET", "tagging", "GetTagging", false,
       [](S3Handler& h, Call& c) { h.GetTagging(c); }},
      {T::kObject, "PUT", "tagging", "PutTagging", false,
       [](S3Handler& h, Call& c) { h.PutTagging(c); }},
      {T::kObject, "DELETE", "tagging", "DeleteTagging", false,
       [](S3Handler& h, Call& c) { h.DeleteTagging(c); }},
      {T::kObject, "POST", "uploads", "CreateMultipart", false,
       [](S3Handler& h, Call& c) { h.CreateMultipart(c); }},
      {T::kObject, "PUT", "uploadId", "UploadPart", false,
       [](S3Handler& h, Call& c) { h.UploadPart(c); }},
      {T::kObject, "POST", "uploadId", "CompleteMultipart", false,
       [](S3Handler& h, Call& c) { h.CompleteMultipart(c); }},
      {T::kObject, "DELETE", "uploadId", "AbortMultipart", false,
       [](S3Handler& h, Call& c) { h.AbortMultipart(c); }},
      {T::kObject, "GET", "uploadId", "ListParts", false,
       [](S3Handler& h, Call& c) { h.ListParts(c); }},
  };
  T target = call.bucket.empty() ? T::kService : call.key.empty() ? T::kBucket : T::kObject;
  std::vector<absl::string_view> subresources;
  for (const auto& [name, value] : call.query) {
    if (!IsOrdinaryParameter(name) &&
        std::find(subresources.begin(), subresources.end(), name) == subresources.end()) {
      subresources.push_back(name);
    }
  }
  const std::string& method = call.request().method;
  if (subresources.size() > 1) {
    *refusal = NotImplemented(absl::StrCat("The combination of sub-resources ?",
                                           absl::StrJoin(subresources, "&"),
                                           " is not supported by this gateway"));
    return nullptr;
  }
  absl::string_view subresource = subresources.empty() ? "" : subresources[0];
  for (const Route& route : kRoutes) {
    if (route.target == target && route.subresource == subresource && route.method == method) {
      return &route;
    }
  }
  // S3 operations this gateway does not serve (PutBucketVersioning, POST object, ...) are
  // NotImplemented; methods S3 has no use for are not allowed.
  static constexpr absl::string_view kS3Methods[] = {"GET", "PUT", "POST", "DELETE", "HEAD"};
  bool s3_method =
      std::find(std::begin(kS3Methods), std::end(kS3Methods), method) != std::end(kS3Methods);
  if (target == T::kService || !s3_method) {
    *refusal = S3Error::Make(405, "MethodNotAllowed",
                             "The specified method is not allowed against this resource.");
  } else if (subresource.empty()) {
    *refusal =
        NotImplemented(absl::StrCat(method, " of ", target == T::kObject ? "an object" : "a bucket",
                                    " is not supported by this gateway"));
  } else {
    *refusal = NotImplemented(
        absl::StrCat(method, " of the ", target == T::kObject ? "object" : "bucket",
                     " sub-resource ?", subresource, " is not supported by this gateway"));
  }
  return nullptr;
}

void S3Handler::RunAnonymous(Call& call, const Route& route) {
  if (!route.anonymous_ok) {
    return SendError(call, AccessDenied("Anonymous requests may only read objects and list public "
                                        "buckets"));
  }
  store_.GetBucketAclAsync(
      call.bucket, Then<std::string>(call, [this, &route](Call& call, S3Or<std::string> acl) {
        if (!acl.ok()) return SendError(call, acl.error());
        if (*acl != "public-read") {
          return SendError(call, AccessDenied("The bucket is not public"));
        }
        route.run(*this, call);
      }));
}

void S3Handler::SendError(Call& call, const S3Error& error) {
  call.error_code = error.code;
  http::HttpResponseHead head;
  head.status = error.http_status;
  head.Set("x-amz-request-id", call.request_id);
  if (call.request().method == "HEAD") {
    head.content_length = 0;
    if (call.exchange->SendHead(head).ok()) call.exchange->Finish().IgnoreError();
    return;
  }
  head.Set("Content-Type", "application/xml");
  std::string resource(call.request().RawPath());
  call.exchange->Respond(head, error.ToXml(resource, call.request_id)).IgnoreError();
}

void S3Handler::SendXml(Call& call, int status, std::string body) {
  http::HttpResponseHead head;
  head.status = status;
  head.Set("x-amz-request-id", call.request_id);
  head.Set("Content-Type", "application/xml");
  call.exchange->Respond(head, std::move(body)).IgnoreError();
}

void S3Handler::SendEmpty(Call& call, int status, http::HttpResponseHead head) {
  head.status = status;
  head.Set("x-amz-request-id", call.request_id);
  call.exchange->Respond(head, "").IgnoreError();
}

std::string S3Handler::OwnerName(uint32_t uid) const {
  std::optional<auth::User> user = users_.FindByUid(uid);
  return user.has_value() ? user->name : absl::StrCat("uid-", uid);
}

void S3Handler::ReadSmallBody(Call& call,
                              absl::AnyInvocable<void(Call&, S3Or<std::string>) &&> then) {
  S3Or<std::unique_ptr<RequestBody>> body =
      RequestBody::Start(*call.exchange, call.auth, kMaxXmlBody);
  if (!body.ok()) return std::move(then)(call, body.error());
  auto text = std::make_shared<Buffer>();
  RequestBody::Drain(
      std::shared_ptr<RequestBody>(*std::move(body)),
      [text](Buffer piece, absl::AnyInvocable<void(S3Or<Ok>) &&> next) {
        text->Append(std::move(piece));
        std::move(next)(Ok{});
      },
      [held = call.shared_from_this(), text,
       then = std::move(then)](S3Or<RequestBody::Checksums> verified) mutable {
        if (!verified.ok()) return std::move(then)(*held, verified.error());
        std::move(then)(*held, text->ToString());
      });
}

// ---- Service and buckets ----

void S3Handler::ListBuckets(Call& call) {
  store_.ListBucketsAsync(call.auth.identity,
                          Then<std::vector<BucketInfo>>(call, [this](Call& call, auto buckets) {
                            AnswerListBuckets(call, std::move(buckets));
                          }));
}

void S3Handler::AnswerListBuckets(Call& call, S3Or<std::vector<BucketInfo>> buckets) {
  if (!buckets.ok()) return SendError(call, buckets.error());
  XmlWriter xml("ListAllMyBucketsResult");
  xml.Open("Owner")
      .Element("ID", std::to_string(call.auth.identity.uid))
      .Element("DisplayName", OwnerName(call.auth.identity.uid))
      .Close("Owner");
  xml.Open("Buckets");
  for (const BucketInfo& bucket : *buckets) {
    xml.Open("Bucket")
        .Element("Name", bucket.name)
        .Element("CreationDate",
                 Iso8601(bucket.attributes.birth_time.seconds != 0 ? bucket.attributes.birth_time
                                                                   : bucket.attributes.ctime))
        .Close("Bucket");
  }
  xml.Close("Buckets");
  SendXml(call, 200, xml.Finish());
}

void S3Handler::CreateBucket(Call& call) {
  ReadSmallBody(call, [this](Call& call, S3Or<std::string> body) { CreateBucket(call, body); });
}

void S3Handler::CreateBucket(Call& call, const S3Or<std::string>& body) {
  if (!body.ok()) return SendError(call, body.error());
  absl::StatusOr<std::string> location = ParseCreateBucketConfiguration(*body);
  if (!location.ok()) return SendError(call, MalformedXml(location.status().message()));
  if (!location->empty() && *location != options_.region) {
    return SendError(call, S3Error::Make(400, "InvalidLocationConstraint",
                                         "The specified location-constraint is not valid"));
  }
  std::string acl(call.request().Header("x-amz-acl").value_or("private"));
  if (acl != "private" && acl != "public-read") {
    return SendError(call, NotImplemented("Bucket ACLs other than private and public-read are "
                                          "not supported"));
  }
  store_.CreateBucketAsync(call.auth.identity, call.bucket, acl,
                           Then<Ok>(call, [this](Call& call, S3Or<Ok> made) {
                             if (!made.ok()) return SendError(call, made.error());
                             http::HttpResponseHead head;
                             head.Set("Location", "/" + call.bucket);
                             SendEmpty(call, 200, head);
                           }));
}

void S3Handler::DeleteBucket(Call& call) {
  store_.DeleteBucketAsync(call.auth.identity, call.bucket,
                           Then<Ok>(call, [this](Call& call, S3Or<Ok> removed) {
                             if (!removed.ok()) return SendError(call, removed.error());
                             SendEmpty(call, 204);
                           }));
}

void S3Handler::HeadBucket(Call& call) {
  store_.HeadBucketAsync(call.auth.identity, call.bucket,
                         Then<BucketInfo>(call, [this](Call& call, S3Or<BucketInfo> bucket) {
                           if (!bucket.ok()) return SendError(call, bucket.error());
                           http::HttpResponseHead head;
                           head.Set("x-amz-bucket-region", options_.region);
                           SendEmpty(call, 200, head);
                         }));
}

void S3Handler::GetBucketLocation(Call& call) {
  store_.HeadBucketAsync(
      call.auth.identity, call.bucket,
      Then<BucketInfo>(call, [this](Call& call, S3Or<BucketInfo> bucket) {
        if (!bucket.ok()) return SendError(call, bucket.error());
        std::string body =
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"" +
            std::string(kS3Namespace) + "\">" +
            (options_.region == "us-east-1" ? "" : XmlEscape(options_.region)) +
            "</LocationConstraint>";
        SendXml(call, 200, body);
      }));
}

namespace {

std::string Grant(absl::string_view grantee_xml, absl::string_view permission) {
  return absl::StrCat("<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" ",
                      grantee_xml, "</Grantee><Permission>", permission, "</Permission></Grant>");
}

std::string UserGrantee(absl::string_view id, absl::string_view name) {
  return absl::StrCat("xsi:type=\"CanonicalUser\"><ID>", XmlEscape(id), "</ID><DisplayName>",
                      XmlEscape(name), "</DisplayName>");
}

std::string GroupGrantee(absl::string_view uri) {
  return absl::StrCat("xsi:type=\"Group\"><URI>", uri, "</URI>");
}

// What a class of the bucket directory's mode bits lets its members do over S3: list (read
// and search) and write (write and search).
std::vector<absl::string_view> PermissionsOf(uint32_t bits) {
  bool read = (bits & 5) == 5;
  bool write = (bits & 3) == 3;
  if (read && write) return {"READ", "WRITE"};
  if (read) return {"READ"};
  if (write) return {"WRITE"};
  return {};
}

}  // namespace

// The ACL is a view of the bucket directory's owner, group and mode, the one truth every
// protocol enforces: the owner's bits for its owner, the group's for every user in that group,
// the others' for all authenticated users (all users, anonymous too, when public-read).
void S3Handler::GetBucketAcl(Call& call) {
  store_.HeadBucketAsync(call.auth.identity, call.bucket,
                         Then<BucketInfo>(call, [this](Call& call, S3Or<BucketInfo> bucket) {
                           if (!bucket.ok()) return SendError(call, bucket.error());
                           store_.GetBucketAclAsync(
                               call.bucket,
                               Then<std::string>(call, [this, bucket = *std::move(bucket)](
                                                           Call& call, S3Or<std::string> acl) {
                                 if (!acl.ok()) return SendError(call, acl.error());
                                 AnswerBucketAcl(call, bucket.attributes, *acl);
                               }));
                         }));
}

void S3Handler::AnswerBucketAcl(Call& call, const backend::Attributes& a, const std::string& acl) {
  std::string owner_id = std::to_string(a.uid);
  std::string owner_name = OwnerName(a.uid);
  std::string grants;
  std::vector<absl::string_view> owner = PermissionsOf((a.mode >> 6) & 7);
  if (owner.size() == 2) {
    grants += Grant(UserGrantee(owner_id, owner_name), "FULL_CONTROL");
  } else {
    for (absl::string_view p : owner) grants += Grant(UserGrantee(owner_id, owner_name), p);
    grants += Grant(UserGrantee(owner_id, owner_name), "READ_ACP");
    grants += Grant(UserGrantee(owner_id, owner_name), "WRITE_ACP");
  }
  std::vector<absl::string_view> group = PermissionsOf((a.mode >> 3) & 7);
  if (!group.empty()) {
    for (const auth::User& user : users_.List()) {
      if (user.uid == a.uid || !user.ToIdentity().InGroup(a.gid)) continue;
      for (absl::string_view p : group) {
        grants += Grant(UserGrantee(std::to_string(user.uid), user.name), p);
      }
    }
  }
  for (absl::string_view p : PermissionsOf(a.mode & 7)) {
    bool everyone = p == "READ" && acl == "public-read";
    grants += Grant(GroupGrantee(everyone ? "http://acs.amazonaws.com/groups/global/AllUsers"
                                          : "http://acs.amazonaws.com/groups/global/"
                                            "AuthenticatedUsers"),
                    p);
  }
  XmlWriter xml("AccessControlPolicy");
  xml.Open("Owner").Element("ID", owner_id).Element("DisplayName", owner_name).Close("Owner");
  xml.Open("AccessControlList").Raw(grants).Close("AccessControlList");
  SendXml(call, 200, xml.Finish());
}

void S3Handler::PutBucketAcl(Call& call) {
  ReadSmallBody(call, [this](Call& call, S3Or<std::string> body) { PutBucketAcl(call, body); });
}

void S3Handler::PutBucketAcl(Call& call, const S3Or<std::string>& body) {
  if (!body.ok()) return SendError(call, body.error());
  std::optional<absl::string_view> canned = call.request().Header("x-amz-acl");
  if (!canned.has_value() || !absl::StripAsciiWhitespace(*body).empty() ||
      (*canned != "private" && *canned != "public-read")) {
    return SendError(call, NotImplemented("Only the canned ACLs private and public-read (in "
                                          "x-amz-acl) are supported for buckets"));
  }
  store_.SetBucketAclAsync(call.auth.identity, call.bucket, std::string(*canned),
                           Then<Ok>(call, [this](Call& call, S3Or<Ok> set) {
                             if (!set.ok()) return SendError(call, set.error());
                             SendEmpty(call, 200);
                           }));
}

void S3Handler::GetBucketVersioning(Call& call) {
  store_.HeadBucketAsync(call.auth.identity, call.bucket,
                         Then<BucketInfo>(call, [this](Call& call, S3Or<BucketInfo> bucket) {
                           if (!bucket.ok()) return SendError(call, bucket.error());
                           SendXml(call, 200,
                                   XmlWriter("VersioningConfiguration").Finish());  // never enabled
                         }));
}

S3Or<Ok> S3Handler::ParseListParameters(const Call& call, ListRequest* request, bool* url) {
  request->prefix = call.Param("prefix");
  request->delimiter = call.Param("delimiter");
  std::string max_keys_text = call.Param("max-keys");
  if (!max_keys_text.empty()) {
    int64_t max_keys = 0;
    if (!absl::SimpleAtoi(max_keys_text, &max_keys) || max_keys < 0) {
      return InvalidArgument("max-keys must be a non-negative integer");
    }
    request->max_keys = static_cast<size_t>(std::min<int64_t>(max_keys, 1000));
  }
  std::string encoding = call.Param("encoding-type");
  if (!encoding.empty() && encoding != "url") {
    return InvalidArgument("Invalid Encoding Method specified in Request");
  }
  *url = encoding == "url";
  return Ok{};
}

void S3Handler::ListPage(Call& call, const ListRequest& request,
                         ObjectStore::Done<ListResult> done) {
  // max-keys=0 asks for nothing: the bucket is checked, and the answer is empty and complete.
  if (request.max_keys == 0) {
    store_.HeadBucketAsync(call.auth.identity, call.bucket,
                           [done = std::move(done)](S3Or<BucketInfo> bucket) mutable {
                             if (!bucket.ok()) return std::move(done)(bucket.error());
                             std::move(done)(ListResult{});
                           });
    return;
  }
  store_.ListAsync(call.auth.identity, call.bucket, request, std::move(done));
}

void S3Handler::ListObjects(Call& call, bool v2) {
  ListRequest request;
  bool url = false;
  S3Or<Ok> parsed = ParseListParameters(call, &request, &url);
  if (!parsed.ok()) return SendError(call, parsed.error());
  std::string token, start_after, marker;
  if (v2) {
    token = call.Param("continuation-token");
    start_after = call.Param("start-after");
    request.after = start_after;
    if (!token.empty()) {  // an empty token asks for the first page, as on AWS
      std::string decoded;
      if (!Base64Decode(token, &decoded)) {
        return SendError(call, InvalidArgument("The continuation token provided is incorrect"));
      }
      request.after = std::max(request.after, decoded);
    }
  } else {
    marker = call.Param("marker");
    request.after = marker;
  }
  ListPage(call, request,
           Then<ListResult>(call, [this, v2, url, request, token, start_after, marker](
                                      Call& call, S3Or<ListResult> result) {
             if (!result.ok()) return SendError(call, result.error());
             auto enc = [url](const std::string& text) {
               return url ? AwsUriEncode(text, /*keep_slash=*/true) : text;
             };
             bool fetch_owner = !v2 || call.Param("fetch-owner") == "true";

             XmlWriter xml("ListBucketResult");
             // encoding-type=url encodes Prefix in ListObjectsV2 only (V1 encodes Delimiter,
             // Marker, NextMarker and the keys), as AWS does and the SDKs decode.
             xml.Element("Name", call.bucket)
                 .Element("Prefix", v2 ? enc(request.prefix) : request.prefix);
             if (v2) {
               if (call.Has("continuation-token")) xml.Element("ContinuationToken", token);
               if (call.Has("start-after")) xml.Element("StartAfter", enc(start_after));
               xml.Element("KeyCount",
                           std::to_string(result->objects.size() + result->common_prefixes.size()));
             } else {
               xml.Element("Marker", enc(marker));
             }
             xml.Element("MaxKeys", std::to_string(request.max_keys));
             if (!request.delimiter.empty()) xml.Element("Delimiter", enc(request.delimiter));
             if (url) xml.Element("EncodingType", "url");
             xml.Element("IsTruncated", result->truncated ? "true" : "false");
             if (result->truncated) {
               if (v2) {
                 xml.Element("NextContinuationToken", Base64Encode(result->next_marker));
               } else if (!request.delimiter.empty()) {
                 xml.Element("NextMarker", enc(result->next_marker));
               }
             }
             for (const ObjectInfo& object : result->objects) {
               xml.Open("Contents")
                   .Element("Key", enc(object.key))
                   .Element("LastModified", Iso8601(object.attributes.mtime))
                   .Element("ETag", Quoted(object.meta.etag()))
                   .Element("Size", std::to_string(object.attributes.size))
                   .Element("StorageClass", "STANDARD");
               if (fetch_owner) {
                 xml.Open("Owner")
                     .Element("ID", std::to_string(object.attributes.uid))
                     .Element("DisplayName", OwnerName(object.attributes.uid))
                     .Close("Owner");
               }
               xml.Close("Contents");
             }
             for (const std::string& prefix : result->common_prefixes) {
               xml.Open("CommonPrefixes").Element("Prefix", enc(prefix)).Close("CommonPrefixes");
             }
             SendXml(call, 200, xml.Finish());
           }));
}

void S3Handler::ListObjectVersions(Call& call) {
  ListRequest request;
  bool url = false;
  S3Or<Ok> parsed = ParseListParameters(call, &request, &url);
  if (!parsed.ok()) return SendError(call, parsed.error());
  request.after = call.Param("key-marker");
  ListPage(call, request,
           Then<ListResult>(call, [this, url, request](Call& call, S3Or<ListResult> result) {
             if (!result.ok()) return SendError(call, result.error());
             auto enc = [url](const std::string& text) {
               return url ? AwsUriEncode(text, /*keep_slash=*/true) : text;
             };
             XmlWriter xml("ListVersionsResult");
             xml.Element("Name", call.bucket)
                 .Element("Prefix", enc(request.prefix))
                 .Element("KeyMarker", enc(request.after))
                 .Element("VersionIdMarker", call.Param("version-id-marker"))
                 .Element("MaxKeys", std::to_string(request.max_keys));
             if (!request.delimiter.empty()) xml.Element("Delimiter", enc(request.delimiter));
             if (url) xml.Element("EncodingType", "url");
             xml.Element("IsTruncated", result->truncated ? "true" : "false");
             if (result->truncated) {
               xml.Element("NextKeyMarker", enc(result->next_marker))
                   .Element("NextVersionIdMarker", "null");
             }
             for (const ObjectInfo& object : result->objects) {
               xml.Open("Version")
                   .Element("Key", enc(object.key))
                   .Element("VersionId", "null")
                   .Element("IsLatest", "true")
                   .Element("LastModified", Iso8601(object.attributes.mtime))
                   .Element("ETag", Quoted(object.meta.etag()))
                   .Element("Size", std::to_string(object.attributes.size))
                   .Element("StorageClass", "STANDARD")
                   .Open("Owner")
                   .Element("ID", std::to_string(object.attributes.uid))
                   .Element("DisplayName", OwnerName(object.attributes.uid))
                   .Close("Owner")
                   .Close("Version");
             }
             for (const std::string& prefix : result->common_prefixes) {
               xml.Open("CommonPrefixes").Element("Prefix", enc(prefix)).Close("CommonPrefixes");
             }
             SendXml(call, 200, xml.Finish());
           }));
}

void S3Handler::DeleteObjects(Call& call) {
  ReadSmallBody(call, [this](Call& call, S3Or<std::string> body) { DeleteObjects(call, body); });
}

// The keys are deleted one after another, each from the callback of the one before (a SerialLoop,
// so keys answered at once do not deepen the stack); the answer lists each key's outcome.
struct S3Handler::MultiDelete {
  DeleteRequest request;
  size_t next = 0;
  XmlWriter xml{"DeleteResult"};
  std::unique_ptr<SerialLoop> loop;
};

void S3Handler::DeleteObjects(Call& call, const S3Or<std::string>& body) {
  if (!body.ok()) return SendError(call, body.error());
  absl::StatusOr<DeleteRequest> request = ParseDeleteRequest(*body);
  if (!request.ok()) return SendError(call, MalformedXml(request.status().message()));
  auto job = std::make_shared<MultiDelete>();
  job->request = *std::move(request);
  store_.HeadBucketAsync(
      call.auth.identity, call.bucket,
      Then<BucketInfo>(call, [this, job](Call& call, S3Or<BucketInfo> bucket) {
        if (!bucket.ok()) return SendError(call, bucket.error());
        std::weak_ptr<MultiDelete> weak = job;  // the job owns the loop
        job->loop = std::make_unique<SerialLoop>([this, weak, held = call.shared_from_this()] {
          if (std::shared_ptr<MultiDelete> job = weak.lock()) {
            DeleteNextObject(*held, job);
          }
        });
        job->loop->Continue();
      }));
}

void S3Handler::DeleteNextObject(Call& call, std::shared_ptr<MultiDelete> job) {
  if (job->next == job->request.objects.size()) return SendXml(call, 200, job->xml.Finish());
  const DeleteRequest::Object& object = job->request.objects[job->next++];
  auto record = [job, key = object.key](S3Or<Ok> removed) {
    if (removed.ok()) {
      if (!job->request.quiet) job->xml.Open("Deleted").Element("Key", key).Close("Deleted");
    } else {
      job->xml.Open("Error")
          .Element("Key", key)
          .Element("Code", removed.error().code)
          .Element("Message", removed.error().message)
          .Close("Error");
    }
  };
  DeleteConditions conditions;
  conditions.etag = object.etag;
  conditions.size = object.size;
  if (object.last_modified_time.has_value()) {
    absl::Time mtime;
    std::string error;
    if (!absl::ParseTime(absl::RFC3339_full, *object.last_modified_time, &mtime, &error)) {
      record(InvalidArgument("LastModifiedTime is not an ISO 8601 time"));
      return job->loop->Continue();
    }
    conditions.mtime = absl::FromUnixSeconds(absl::ToUnixSeconds(mtime));
  }
  DeleteIfAsync(call, object.key, conditions, [job, record](S3Or<Ok> removed) {
    record(std::move(removed));
    job->loop->Continue();
  });
}

}  // namespace cfs::s3
