// S3Handler: request routing, authentication, errors, and the service and bucket operations
// (listing included). Object and multipart operations are in s3_object_ops.cc.
#include "lib/protocols/s3/s3_handler.h"

#include <openssl/rand.h>

#include <algorithm>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "lib/common/logging.h"
#include "lib/protocols/s3/digests.h"
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
    : options_(std::move(options)), users_(users), store_(store) {}

void S3Handler::Handle(http::HttpExchange& exchange) {
  Call call;
  call.exchange = &exchange;
  unsigned char id[8];
  RAND_bytes(id, sizeof(id));
  call.request_id = absl::AsciiStrToUpper(
      HexEncode(absl::string_view(reinterpret_cast<const char*>(id), sizeof(id))));
  const http::HttpRequest& r = exchange.request();
  absl::Time arrived = absl::Now();
  auto record = absl::MakeCleanup([this, &call, &exchange, arrived] {
    if (options_.metrics == nullptr) return;
    options_.metrics->Record(call.op.empty() ? "Unrouted" : call.op, call.error_code,
                             absl::Now() - arrived, exchange.body_bytes_read(),
                             exchange.body_bytes_sent());
  });

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
  if (call.auth.anonymous) {
    S3Or<Ok> allowed = AllowAnonymous(call);
    if (!allowed.ok()) return SendError(call, allowed.error());
  }
  Route(call);
  CFS_LOG_REQUEST(DEBUG, "s3", call.request_id)
      << r.method << " " << r.target << " by " << call.auth.access_key;
}

S3Or<Ok> S3Handler::AllowAnonymous(const Call& call) {
  const std::string& method = call.request().method;
  bool reading = method == "GET" || method == "HEAD";
  static constexpr absl::string_view kPrivate[] = {"acl",      "tagging",    "uploads", "uploadId",
                                                   "location", "versioning", "policy"};
  for (absl::string_view resource : kPrivate) reading = reading && !call.Has(resource);
  if (!reading || call.bucket.empty()) {
    return AccessDenied("Anonymous requests may only read objects and list public buckets");
  }
  S3Or<std::string> acl = store_.GetBucketAcl(call.bucket);
  if (!acl.ok()) return acl.error();
  if (*acl != "public-read") return AccessDenied("The bucket is not public");
  return Ok{};
}

void S3Handler::Route(Call& call) {
  const std::string& method = call.request().method;
  if (call.bucket.empty()) {
    if (method == "GET") {
      call.op = "ListBuckets";
      return ListBuckets(call);
    }
    return SendError(call, S3Error::Make(405, "MethodNotAllowed",
                                         "The specified method is not allowed against this "
                                         "resource."));
  }
  static constexpr absl::string_view kUnsupportedBucketResources[] = {"acl",
                                                                      "policy",
                                                                      "cors",
                                                                      "lifecycle",
                                                                      "website",
                                                                      "logging",
                                                                      "notification",
                                                                      "replication",
                                                                      "encryption",
                                                                      "object-lock",
                                                                      "requestPayment",
                                                                      "accelerate",
                                                                      "analytics",
                                                                      "inventory",
                                                                      "metrics",
                                                                      "intelligent-tiering",
                                                                      "ownershipControls",
                                                                      "publicAccessBlock",
                                                                      "versions",
                                                                      "tagging"};
  if (call.key.empty()) {
    if (call.Has("acl") && method == "GET") {
      call.op = "GetBucketAcl";
      return GetBucketAcl(call);
    }
    if (call.Has("acl") && method == "PUT") {
      call.op = "PutBucketAcl";
      return PutBucketAcl(call);
    }
    if (call.Has("location") && method == "GET") {
      call.op = "GetBucketLocation";
      return GetBucketLocation(call);
    }
    if (call.Has("versioning") && method == "GET") {
      call.op = "GetBucketVersioning";
      return GetBucketVersioning(call);
    }
    if (call.Has("uploads") && method == "GET") {
      call.op = "ListMultipartUploads";
      return ListMultipartUploads(call);
    }
    if (call.Has("delete") && method == "POST") {
      call.op = "DeleteObjects";
      return DeleteObjects(call);
    }
    for (absl::string_view resource : kUnsupportedBucketResources) {
      if (call.Has(resource)) {
        return SendError(call, NotImplemented(absl::StrCat("The bucket sub-resource ?", resource,
                                                           " is not supported by this gateway")));
      }
    }
    if (method == "GET") {
      call.op = "ListObjects";
      return ListObjects(call, call.Param("list-type") == "2");
    }
    if (method == "PUT") {
      call.op = "CreateBucket";
      return CreateBucket(call);
    }
    if (method == "DELETE") {
      call.op = "DeleteBucket";
      return DeleteBucket(call);
    }
    if (method == "HEAD") {
      call.op = "HeadBucket";
      return HeadBucket(call);
    }
  } else {
    if (call.Has("tagging")) {
      if (method == "GET") {
        call.op = "GetTagging";
        return GetTagging(call);
      }
      if (method == "PUT") {
        call.op = "PutTagging";
        return PutTagging(call);
      }
      if (method == "DELETE") {
        call.op = "DeleteTagging";
        return DeleteTagging(call);
      }
    } else if (call.Has("acl") || call.Has("retention") || call.Has("legal-hold") ||
               call.Has("torrent") || call.Has("restore") || call.Has("select")) {
      return SendError(call,
                       NotImplemented("This object sub-resource is not supported by this gateway"));
    } else if (call.Has("uploads")) {
      if (method == "POST") {
        call.op = "CreateMultipart";
        return CreateMultipart(call);
      }
    } else if (call.Has("uploadId")) {
      if (method == "PUT") {
        call.op = "UploadPart";
        return UploadPart(call);
      }
      if (method == "POST") {
        call.op = "CompleteMultipart";
        return CompleteMultipart(call);
      }
      if (method == "DELETE") {
        call.op = "AbortMultipart";
        return AbortMultipart(call);
      }
      if (method == "GET") {
        call.op = "ListParts";
        return ListParts(call);
      }
    } else {
      if (method == "PUT") {
        if (call.request().Header("x-amz-copy-source").has_value()) {
          call.op = "CopyObject";
          return CopyObject(call);
        }
        {
          call.op = "PutObject";
          return PutObject(call);
        }
      }
      if (method == "GET") {
        call.op = "GetObject";
        return GetObject(call, false);
      }
      if (method == "HEAD") {
        call.op = "HeadObject";
        return GetObject(call, true);
      }
      if (method == "DELETE") {
        call.op = "DeleteObject";
        return DeleteObject(call);
      }
    }
  }
  SendError(call, S3Error::Make(405, "MethodNotAllowed",
                                "The specified method is not allowed against this resource."));
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

S3Or<std::string> S3Handler::ReadSmallBody(Call& call) {
  S3Or<std::unique_ptr<RequestBody>> body =
      RequestBody::Start(*call.exchange, call.auth, kMaxXmlBody);
  if (!body.ok()) return body.error();
  std::string out;
  while (true) {
    S3Or<std::string> piece = (*body)->Next();
    if (!piece.ok()) return piece.error();
    if (piece->empty()) break;
    out += *piece;
  }
  std::map<std::string, std::string> checksums;
  S3Or<Ok> verified = (*body)->Verify(&checksums);
  if (!verified.ok()) return verified.error();
  return out;
}

// ---- Service and buckets ----

void S3Handler::ListBuckets(Call& call) {
  S3Or<std::vector<BucketInfo>> buckets = store_.ListBuckets(call.auth.identity);
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
  S3Or<std::string> body = ReadSmallBody(call);
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
  S3Or<Ok> made = store_.CreateBucket(call.auth.identity, call.bucket);
  if (!made.ok()) return SendError(call, made.error());
  if (acl != "private") {
    S3Or<Ok> set = store_.SetBucketAcl(call.auth.identity, call.bucket, acl);
    if (!set.ok()) return SendError(call, set.error());
  }
  http::HttpResponseHead head;
  head.Set("Location", "/" + call.bucket);
  SendEmpty(call, 200, head);
}

void S3Handler::DeleteBucket(Call& call) {
  S3Or<Ok> removed = store_.DeleteBucket(call.auth.identity, call.bucket);
  if (!removed.ok()) return SendError(call, removed.error());
  SendEmpty(call, 204);
}

void S3Handler::HeadBucket(Call& call) {
  S3Or<BucketInfo> bucket = store_.HeadBucket(call.auth.identity, call.bucket);
  if (!bucket.ok()) return SendError(call, bucket.error());
  http::HttpResponseHead head;
  head.Set("x-amz-bucket-region", options_.region);
  SendEmpty(call, 200, head);
}

void S3Handler::GetBucketLocation(Call& call) {
  S3Or<BucketInfo> bucket = store_.HeadBucket(call.auth.identity, call.bucket);
  if (!bucket.ok()) return SendError(call, bucket.error());
  std::string body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<LocationConstraint xmlns=\"" +
                     std::string(kS3Namespace) + "\">" +
                     (options_.region == "us-east-1" ? "" : XmlEscape(options_.region)) +
                     "</LocationConstraint>";
  SendXml(call, 200, body);
}

void S3Handler::GetBucketAcl(Call& call) {
  S3Or<BucketInfo> bucket = store_.HeadBucket(call.auth.identity, call.bucket);
  if (!bucket.ok()) return SendError(call, bucket.error());
  S3Or<std::string> acl = store_.GetBucketAcl(call.bucket);
  if (!acl.ok()) return SendError(call, acl.error());
  std::string owner_id = std::to_string(bucket->attributes.uid);
  std::string owner_name = OwnerName(bucket->attributes.uid);
  std::string grant =
      "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
      "xsi:type=\"CanonicalUser\"><ID>" +
      XmlEscape(owner_id) + "</ID><DisplayName>" + XmlEscape(owner_name) +
      "</DisplayName></Grantee><Permission>FULL_CONTROL</Permission></Grant>";
  if (*acl == "public-read") {
    grant +=
        "<Grant><Grantee xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
        "xsi:type=\"Group\"><URI>http://acs.amazonaws.com/groups/global/AllUsers</URI>"
        "</Grantee><Permission>READ</Permission></Grant>";
  }
  XmlWriter xml("AccessControlPolicy");
  xml.Open("Owner").Element("ID", owner_id).Element("DisplayName", owner_name).Close("Owner");
  xml.Open("AccessControlList").Raw(grant).Close("AccessControlList");
  SendXml(call, 200, xml.Finish());
}

void S3Handler::PutBucketAcl(Call& call) {
  S3Or<std::string> body = ReadSmallBody(call);
  if (!body.ok()) return SendError(call, body.error());
  std::optional<absl::string_view> canned = call.request().Header("x-amz-acl");
  if (!canned.has_value() || !absl::StripAsciiWhitespace(*body).empty() ||
      (*canned != "private" && *canned != "public-read")) {
    return SendError(call, NotImplemented("Only the canned ACLs private and public-read (in "
                                          "x-amz-acl) are supported for buckets"));
  }
  S3Or<Ok> set = store_.SetBucketAcl(call.auth.identity, call.bucket, *canned);
  if (!set.ok()) return SendError(call, set.error());
  SendEmpty(call, 200);
}

void S3Handler::GetBucketVersioning(Call& call) {
  S3Or<BucketInfo> bucket = store_.HeadBucket(call.auth.identity, call.bucket);
  if (!bucket.ok()) return SendError(call, bucket.error());
  SendXml(call, 200, XmlWriter("VersioningConfiguration").Finish());  // never enabled
}

void S3Handler::ListObjects(Call& call, bool v2) {
  ListRequest request;
  request.prefix = call.Param("prefix");
  request.delimiter = call.Param("delimiter");
  std::string max_keys_text = call.Param("max-keys");
  if (!max_keys_text.empty()) {
    int64_t max_keys = 0;
    if (!absl::SimpleAtoi(max_keys_text, &max_keys) || max_keys < 0) {
      return SendError(call, InvalidArgument("max-keys must be a non-negative integer"));
    }
    request.max_keys = static_cast<size_t>(std::min<int64_t>(max_keys, 1000));
  }
  std::string encoding = call.Param("encoding-type");
  if (!encoding.empty() && encoding != "url") {
    return SendError(call, InvalidArgument("Invalid Encoding Method specified in Request"));
  }
  bool url = encoding == "url";
  auto enc = [url](const std::string& text) {
    return url ? AwsUriEncode(text, /*keep_slash=*/true) : text;
  };
  std::string token, start_after, marker;
  if (v2) {
    token = call.Param("continuation-token");
    start_after = call.Param("start-after");
    request.after = start_after;
    if (call.Has("continuation-token")) {
      std::string decoded;
      if (token.empty() || !Base64Decode(token, &decoded)) {
        return SendError(call, InvalidArgument("The continuation token provided is incorrect"));
      }
      request.after = std::max(request.after, decoded);
    }
  } else {
    marker = call.Param("marker");
    request.after = marker;
  }
  S3Or<ListResult> result = store_.List(call.auth.identity, call.bucket, request);
  if (!result.ok()) return SendError(call, result.error());
  bool fetch_owner = !v2 || call.Param("fetch-owner") == "true";

  XmlWriter xml("ListBucketResult");
  xml.Element("Name", call.bucket).Element("Prefix", enc(request.prefix));
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
}

void S3Handler::DeleteObjects(Call& call) {
  S3Or<std::string> body = ReadSmallBody(call);
  if (!body.ok()) return SendError(call, body.error());
  absl::StatusOr<DeleteRequest> request = ParseDeleteRequest(*body);
  if (!request.ok()) return SendError(call, MalformedXml(request.status().message()));
  S3Or<BucketInfo> bucket = store_.HeadBucket(call.auth.identity, call.bucket);
  if (!bucket.ok()) return SendError(call, bucket.error());
  XmlWriter xml("DeleteResult");
  for (const DeleteRequest::Object& object : request->objects) {
    S3Or<Ok> removed = store_.Delete(call.auth.identity, call.bucket, object.key);
    if (removed.ok()) {
      if (!request->quiet) xml.Open("Deleted").Element("Key", object.key).Close("Deleted");
    } else {
      xml.Open("Error")
          .Element("Key", object.key)
          .Element("Code", removed.error().code)
          .Element("Message", removed.error().message)
          .Close("Error");
    }
  }
  SendXml(call, 200, xml.Finish());
}

}  // namespace cfs::s3
