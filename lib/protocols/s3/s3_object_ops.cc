// S3Handler: object operations (PUT/GET/HEAD/DELETE/COPY, tagging) and multipart uploads.
#include <algorithm>
#include <future>
#include <map>
#include <optional>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "absl/time/clock.h"
#include "lib/common/logging.h"
#include "lib/common/serial_loop.h"
#include "lib/protocols/s3/digests.h"
#include "lib/protocols/s3/object_store_helpers.h"
#include "lib/protocols/s3/request_body.h"
#include "lib/protocols/s3/s3_format.h"
#include "lib/protocols/s3/s3_handler.h"
#include "lib/protocols/s3/xml.h"

namespace cfs::s3 {

namespace {

using internal::kReadPiece;
constexpr uint64_t kMinPartSize = 5 << 20;
constexpr size_t kMaxUserMetadata = 2048;

// Stored content headers and the names they are sent back with.
constexpr std::pair<absl::string_view, absl::string_view> kContentHeaders[] = {
    {"content-type", "Content-Type"},
    {"content-encoding", "Content-Encoding"},
    {"content-disposition", "Content-Disposition"},
    {"content-language", "Content-Language"},
    {"cache-control", "Cache-Control"},
    {"expires", "Expires"},
};

// A tag set S3 refuses is InvalidTag; anything else wrong with the document is MalformedXML.
S3Error TagError(const absl::Status& status) {
  if (status.code() == absl::StatusCode::kOutOfRange) {
    return S3Error::Make(400, "InvalidTag", status.message());
  }
  return MalformedXml(status.message());
}

S3Error PreconditionFailed() {
  return S3Error::Make(412, "PreconditionFailed",
                       "At least one of the pre-conditions you specified did not hold");
}

// True when `header` (an If-Match / If-None-Match list) names `etag` or is "*".
bool EtagListMatches(absl::string_view header, const std::string& etag) {
  for (absl::string_view item : absl::StrSplit(header, ',')) {
    item = absl::StripAsciiWhitespace(item);
    absl::ConsumePrefix(&item, "W/");
    if (item == "*") return true;
    if (item.size() >= 2 && item.front() == '"' && item.back() == '"') {
      item = item.substr(1, item.size() - 2);
    }
    if (item == etag) return true;
  }
  return false;
}

// RFC 7232 order as S3 applies it. Returns 0 to go on, 304 or 412. `prefix` selects the
// header family ("" or "x-amz-copy-source-"); copies turn 304 into 412.
int EvaluateConditions(const http::HttpRequest& r, const ObjectInfo& object,
                       absl::string_view prefix) {
  auto header = [&](absl::string_view name) { return r.Header(absl::StrCat(prefix, name)); };
  int64_t mtime = object.attributes.mtime.seconds;
  std::optional<absl::string_view> if_match = header("if-match");
  std::optional<absl::string_view> if_none_match = header("if-none-match");
  std::optional<absl::string_view> if_unmodified = header("if-unmodified-since");
  std::optional<absl::string_view> if_modified = header("if-modified-since");
  bool copy = !prefix.empty();
  if (if_match.has_value()) {
    if (!EtagListMatches(*if_match, object.meta.etag())) return 412;
  } else if (if_unmodified.has_value()) {
    std::optional<int64_t> t = http::ParseHttpDate(*if_unmodified);
    if (t.has_value() && mtime > *t) return 412;
  }
  if (if_none_match.has_value()) {
    if (EtagListMatches(*if_none_match, object.meta.etag())) return copy ? 412 : 304;
  } else if (if_modified.has_value()) {
    std::optional<int64_t> t = http::ParseHttpDate(*if_modified);
    if (t.has_value() && mtime <= *t && t <= absl::ToUnixSeconds(absl::Now())) {
      return copy ? 412 : 304;
    }
  }
  return 0;
}

struct ByteRange {
  uint64_t first = 0;
  uint64_t last = 0;  // inclusive
};

// Parses "bytes=a-b", "bytes=a-", "bytes=-n" against `size`. nullopt: serve everything
// (absent or unparsable or several ranges, as S3 does); `unsatisfiable` for 416.
std::optional<ByteRange> ParseRange(absl::string_view header, uint64_t size, bool* unsatisfiable) {
  *unsatisfiable = false;
  if (!absl::ConsumePrefix(&header, "bytes=") || absl::StrContains(header, ",")) {
    return std::nullopt;
  }
  header = absl::StripAsciiWhitespace(header);
  size_t dash = header.find('-');
  if (dash == absl::string_view::npos) return std::nullopt;
  absl::string_view a = header.substr(0, dash);
  absl::string_view b = header.substr(dash + 1);
  uint64_t first = 0, last = 0;
  if (a.empty()) {
    uint64_t suffix = 0;
    if (!absl::SimpleAtoi(b, &suffix)) return std::nullopt;
    if (suffix == 0 || size == 0) {
      *unsatisfiable = true;
      return std::nullopt;
    }
    first = suffix >= size ? 0 : size - suffix;
    return ByteRange{first, size - 1};
  }
  if (!absl::SimpleAtoi(a, &first)) return std::nullopt;
  if (b.empty()) {
    last = size == 0 ? 0 : size - 1;
  } else if (!absl::SimpleAtoi(b, &last) || last < first) {
    return std::nullopt;
  }
  if (first >= size) {
    *unsatisfiable = true;
    return std::nullopt;
  }
  return ByteRange{first, std::min(last, size - 1)};
}

// x-amz-copy-source-range: exactly "bytes=first-last" (no open ends, no lists), and within
// the source, which a GET's Range is not held to.
S3Or<ByteRange> ParseCopyRange(absl::string_view header, uint64_t size) {
  S3Error malformed = InvalidArgument(
      "The x-amz-copy-source-range value must be of the form bytes=first-last where first and "
      "last are the zero-based offsets of the first and last bytes to copy");
  auto number = [](absl::string_view text, uint64_t* out) {
    return !text.empty() && std::all_of(text.begin(), text.end(), absl::ascii_isdigit) &&
           absl::SimpleAtoi(text, out);
  };
  ByteRange range;
  std::vector<absl::string_view> ends = absl::StrSplit(header, '-');
  if (!absl::ConsumePrefix(&ends[0], "bytes=") || ends.size() != 2 ||
      !number(ends[0], &range.first) || !number(ends[1], &range.last) || range.last < range.first) {
    return malformed;
  }
  if (range.last >= size) {
    return S3Error::Make(416, "InvalidRange", "The requested range is not satisfiable");
  }
  return range;
}

void AddObjectHeaders(http::HttpResponseHead* head, const ObjectInfo& object) {
  head->Set("ETag", Quoted(object.meta.etag()));
  head->Set("Last-Modified", LastModified(object.attributes.mtime));
  bool has_type = false;
  for (const auto& [name, value] : object.meta.headers()) {
    for (const auto& [stored, sent] : kContentHeaders) {
      if (name == stored) {
        head->Set(std::string(sent), value);
        has_type |= name == "content-type";
      }
    }
  }
  if (!has_type) head->Set("Content-Type", "binary/octet-stream");
  for (const auto& [name, value] : object.meta.user_metadata()) {
    head->Set("x-amz-meta-" + name, value);
  }
  if (object.meta.tags_size() > 0) {
    head->Set("x-amz-tagging-count", std::to_string(object.meta.tags_size()));
  }
  if (object.meta.parts() > 0)
    head->Set("x-amz-mp-parts-count", std::to_string(object.meta.parts()));
}

// "bucket/key" of an x-amz-copy-source value (leading '/', percent-escapes, ?versionId).
bool ParseCopySource(absl::string_view value, std::string* bucket, std::string* key) {
  size_t q = value.find('?');
  absl::string_view version;
  if (q != absl::string_view::npos) {
    version = value.substr(q + 1);
    value = value.substr(0, q);
  }
  if (!version.empty() && version != "versionId=null") return false;
  std::string decoded;
  if (!http::PercentDecode(value, &decoded)) return false;
  absl::string_view rest(decoded);
  absl::ConsumePrefix(&rest, "/");
  size_t slash = rest.find('/');
  if (slash == absl::string_view::npos || slash == 0 || slash + 1 == rest.size()) return false;
  *bucket = std::string(rest.substr(0, slash));
  *key = std::string(rest.substr(slash + 1));
  return true;
}

// Appends bytes [first, end) of `inode` to `staged` piece by piece without waiting (read, then
// append, then the next read from the append's callback); `done` gets their MD5 in hex. A
// piece answered at once loops rather than recursing (SerialLoop).
struct Copier {
  ObjectStore* store = nullptr;
  backend::Identity who;
  backend::InodeNumber inode = 0;
  uint64_t offset = 0;
  uint64_t end = 0;
  StagedObject* staged = nullptr;
  Digest md5{DigestKind::kMd5};
  ObjectStore::Done<std::string> done;
  std::unique_ptr<SerialLoop> loop;
};

void CopyStep(const std::shared_ptr<Copier>& copier) {
  if (copier->offset >= copier->end) {
    return std::move(copier->done)(HexEncode(copier->md5.Final()));
  }
  copier->store->ReadAsync(
      copier->who, copier->inode, copier->offset,
      std::min(kReadPiece, copier->end - copier->offset), [copier](S3Or<std::string> data) {
        if (!data.ok()) return std::move(copier->done)(data.error());
        if (data->empty()) {  // the source is shorter now: what there was is copied
          copier->end = copier->offset;
          return copier->loop->Continue();
        }
        copier->offset += data->size();
        copier->md5.Update(*data);
        copier->staged->AppendAsync(Buffer::Adopt(*std::move(data)), [copier](S3Or<Ok> appended) {
          if (!appended.ok()) return std::move(copier->done)(appended.error());
          copier->loop->Continue();
        });
      });
}

void CopyIntoAsync(ObjectStore& store, const backend::Identity& who, backend::InodeNumber inode,
                   uint64_t first, uint64_t end, StagedObject& staged,
                   ObjectStore::Done<std::string> done) {
  auto copier = std::make_shared<Copier>();
  copier->store = &store;
  copier->who = who;
  copier->inode = inode;
  copier->offset = first;
  copier->end = end;
  copier->staged = &staged;
  copier->done = std::move(done);
  std::weak_ptr<Copier> weak = copier;  // the copier owns the loop
  copier->loop = std::make_unique<SerialLoop>([weak] {
    if (std::shared_ptr<Copier> held = weak.lock()) CopyStep(held);
  });
  copier->loop->Continue();
}

// Reads the request body into `staged` and verifies it, holding no thread while the client is
// slow or the backend writes; `then` gets the checksums checked (or the error), with `staged`
// still there to publish, on whichever thread delivered the end (it must not block).
void ReceiveInto(std::shared_ptr<RequestBody> body,
                 std::shared_ptr<std::unique_ptr<StagedObject>> staged,
                 absl::AnyInvocable<void(S3Or<RequestBody::Checksums>) &&> then) {
  StagedObject* target = staged->get();
  RequestBody::Drain(
      std::move(body),
      [target](Buffer piece, absl::AnyInvocable<void(S3Or<Ok>) &&> next) {
        target->AppendAsync(std::move(piece), std::move(next));
      },
      std::move(then));
}

}  // namespace

S3Or<ObjectMeta> S3Handler::MetaFromHeaders(const Call& call) {
  std::string acl(call.request().Header("x-amz-acl").value_or("private"));
  if (acl != "private" && acl != "bucket-owner-full-control") {
    return NotImplemented("Object ACLs are not supported; make the bucket public-read instead");
  }
  ObjectMeta meta;
  size_t user_bytes = 0;
  for (const auto& [name, value] : call.request().headers) {
    for (const auto& [stored, sent] : kContentHeaders) {
      if (name != stored) continue;
      std::string kept = value;
      if (name == "content-encoding") {
        // aws-chunked describes the upload's framing, not the object: S3 drops it.
        std::vector<std::string> codings;
        for (absl::string_view coding : absl::StrSplit(value, ',')) {
          coding = absl::StripAsciiWhitespace(coding);
          if (!coding.empty() && !absl::EqualsIgnoreCase(coding, "aws-chunked")) {
            codings.emplace_back(coding);
          }
        }
        kept = absl::StrJoin(codings, ", ");
        if (kept.empty()) continue;
      }
      (*meta.mutable_headers())[name] = kept;
    }
    if (absl::StartsWith(name, "x-amz-meta-")) {
      std::string short_name = name.substr(11);
      user_bytes += short_name.size() + value.size();
      (*meta.mutable_user_metadata())[short_name] = value;
    }
  }
  if (user_bytes > kMaxUserMetadata) {
    return S3Error::Make(400, "MetadataTooLarge",
                         "Your metadata headers exceed the maximum allowed metadata size.");
  }
  std::optional<absl::string_view> tagging = call.request().Header("x-amz-tagging");
  if (tagging.has_value()) {
    std::vector<std::pair<std::string, std::string>> tags;
    if (!http::ParseQuery(*tagging, &tags)) {
      return InvalidArgument("The x-amz-tagging header is not a valid tag set");
    }
    if (absl::Status count = ValidateTagCount(tags.size()); !count.ok()) return TagError(count);
    for (auto& [key, value] : tags) {
      if (absl::Status valid = ValidateTag(key, value); !valid.ok()) return TagError(valid);
      (*meta.mutable_tags())[key] = value;
    }
  }
  return meta;
}

S3Or<Ok> S3Handler::CheckQuota(const Call& call, backend::InodeNumber bucket_dir,
                               std::optional<uint64_t> bytes, uint64_t objects) {
  if (options_.quotas == nullptr || !bytes.has_value()) return Ok{};
  absl::Status room = options_.quotas->CheckGrowth(call.auth.identity, bucket_dir, *bytes, objects);
  if (!room.ok()) return FromStatus(room, NoSuchBucket());
  return Ok{};
}

// PUT: each step continues in the callback of the one before (bucket, conditions, staging
// file, body, publish); no thread waits for the client or the backend.
void S3Handler::PutObject(Call& call) {
  S3Or<ObjectMeta> meta = MetaFromHeaders(call);
  if (!meta.ok()) return SendError(call, meta.error());
  S3Or<std::vector<std::string>> path = KeyToPath(call.key, /*allow_trailing_slash=*/true);
  if (!path.ok()) return SendError(call, path.error());
  const http::HttpRequest& r = call.request();
  std::optional<absl::string_view> if_none_match = r.Header("if-none-match");
  if (if_none_match.has_value() && *if_none_match != "*") {
    return SendError(call, NotImplemented("If-None-Match on PUT supports only *"));
  }
  store_.HeadBucketAsync(call.auth.identity, call.bucket,
                         [this, held = call.shared_from_this(),
                          meta = *std::move(meta)](S3Or<BucketInfo> bucket) mutable {
                           Call& call = *held;
                           if (!bucket.ok()) return SendError(call, bucket.error());
                           PutObjectIfConditions(call, *std::move(bucket), std::move(meta));
                         });
}

void S3Handler::PutObjectIfConditions(Call& call, BucketInfo bucket, ObjectMeta meta) {
  const http::HttpRequest& r = call.request();
  std::optional<absl::string_view> if_none_match = r.Header("if-none-match");
  std::optional<absl::string_view> if_match = r.Header("if-match");
  if (!if_none_match.has_value() && !if_match.has_value()) {
    return PutObjectBody(call, std::move(bucket), std::move(meta));
  }
  store_.HeadAsync(call.auth.identity, call.bucket, call.key,
                   [this, held = call.shared_from_this(), bucket = std::move(bucket),
                    meta = std::move(meta)](S3Or<ObjectInfo> existing) mutable {
                     Call& call = *held;
                     const http::HttpRequest& r = call.request();
                     std::optional<absl::string_view> if_match = r.Header("if-match");
                     if (r.Header("if-none-match").has_value() && existing.ok()) {
                       return SendError(call, PreconditionFailed());
                     }
                     if (if_match.has_value()) {
                       if (!existing.ok()) return SendError(call, NoSuchKey());
                       if (!EtagListMatches(*if_match, existing->meta.etag())) {
                         return SendError(call, PreconditionFailed());
                       }
                     }
                     PutObjectBody(call, std::move(bucket), std::move(meta));
                   });
}

void S3Handler::PutObjectBody(Call& call, BucketInfo bucket, ObjectMeta meta) {
  S3Or<std::unique_ptr<RequestBody>> body =
      RequestBody::Start(*call.exchange, call.auth, options_.max_object_size);
  if (!body.ok()) return SendError(call, body.error());
  auto shared_body = std::shared_ptr<RequestBody>(*std::move(body));

  if (call.key.back() == '/') {  // a folder object: no data
    RequestBody::Drain(
        shared_body,
        [](Buffer piece, absl::AnyInvocable<void(S3Or<Ok>) &&> next) {
          std::move(next)(InvalidArgument("A key ending in '/' is a folder and holds no data"));
        },
        [this, held = call.shared_from_this(),
         meta = std::move(meta)](S3Or<RequestBody::Checksums> received) mutable {
          Call& call = *held;
          if (!received.ok()) return SendError(call, received.error());
          store_.PutFolderAsync(call.auth.identity, call.bucket, call.key, std::move(meta),
                                [this, held](S3Or<ObjectInfo> folder) {
                                  Call& call = *held;
                                  if (!folder.ok()) return SendError(call, folder.error());
                                  http::HttpResponseHead head;
                                  head.Set("ETag", Quoted(folder->meta.etag()));
                                  SendEmpty(call, 200, head);
                                });
        });
    return;
  }

  // Bytes only: an overwrite adds no object, and the rename into the bucket checks files exactly.
  std::optional<uint64_t> size = shared_body->expected_size();
  S3Or<Ok> room = CheckQuota(call, bucket.attributes.inode, size, 0);
  if (room.ok()) return PutObjectStage(call, std::move(bucket), std::move(meta), shared_body);
  // An overwrite only adds what it outgrows the object it replaces by.
  store_.HeadAsync(
      call.auth.identity, call.bucket, call.key,
      [this, held = call.shared_from_this(), bucket = std::move(bucket), meta = std::move(meta),
       shared_body, size, room = std::move(room)](S3Or<ObjectInfo> replaced) mutable {
        Call& call = *held;
        if (replaced.ok()) {
          uint64_t old_size = replaced->attributes.size;
          room =
              CheckQuota(call, bucket.attributes.inode, *size > old_size ? *size - old_size : 0, 0);
        }
        if (!room.ok()) return SendError(call, room.error());
        PutObjectStage(call, std::move(bucket), std::move(meta), shared_body);
      });
}

void S3Handler::PutObjectStage(Call& call, BucketInfo bucket, ObjectMeta meta,
                               std::shared_ptr<RequestBody> body) {
  store_.StageAsync(
      call.auth.identity, ObjectMode(bucket.attributes),
      [this, held = call.shared_from_this(), meta = std::move(meta),
       body](S3Or<std::unique_ptr<StagedObject>> staged) mutable {
        Call& call = *held;
        if (!staged.ok()) return SendError(call, staged.error());
        auto held_staged = std::make_shared<std::unique_ptr<StagedObject>>(*std::move(staged));
        ReceiveInto(body, held_staged,
                    [this, held, body, held_staged,
                     meta = std::move(meta)](S3Or<RequestBody::Checksums> received) mutable {
                      Call& call = *held;
                      if (!received.ok()) return SendError(call, received.error());
                      RequestBody::Checksums checksums = *std::move(received);
                      meta.set_etag(body->md5_hex());
                      for (const auto& [algorithm, value] : checksums) {
                        (*meta.mutable_checksums())[algorithm] = value;
                      }
                      store_.PublishAsync(call.auth.identity, std::move(*held_staged), call.bucket,
                                          call.key, std::move(meta),
                                          [this, held, checksums = std::move(checksums)](
                                              S3Or<ObjectInfo> published) {
                                            Call& call = *held;
                                            if (!published.ok())
                                              return SendError(call, published.error());
                                            http::HttpResponseHead head;
                                            head.Set("ETag", Quoted(published->meta.etag()));
                                            for (const auto& [algorithm, value] : checksums) {
                                              head.Set("x-amz-checksum-" + algorithm, value);
                                            }
                                            SendEmpty(call, 200, head);
                                          });
                    });
      });
}

void S3Handler::GetObject(Call& call, bool head_only) {
  store_.HeadAsync(call.auth.identity, call.bucket, call.key,
                   [this, held = call.shared_from_this(), head_only](S3Or<ObjectInfo> object) {
                     AnswerGet(*held, head_only, std::move(object));
                   });
}

void S3Handler::AnswerGet(Call& call, bool head_only, S3Or<ObjectInfo> object) {
  if (!object.ok()) return SendError(call, object.error());
  const http::HttpRequest& r = call.request();
  http::HttpResponseHead head;
  head.Set("x-amz-request-id", call.request_id);
  int condition = EvaluateConditions(r, *object, "");
  if (condition == 412) return SendError(call, PreconditionFailed());
  if (condition == 304) {
    head.status = 304;
    head.Set("ETag", Quoted(object->meta.etag()));
    head.Set("Last-Modified", LastModified(object->attributes.mtime));
    head.content_length = 0;
    if (call.exchange->SendHead(head).ok()) call.exchange->Finish().IgnoreError();
    return;
  }
  uint64_t size = object->attributes.size;
  bool unsatisfiable = false;
  std::optional<ByteRange> range;
  std::optional<absl::string_view> range_header = r.Header("range");
  if (range_header.has_value()) range = ParseRange(*range_header, size, &unsatisfiable);
  if (unsatisfiable) {
    S3Error error = S3Error::Make(416, "InvalidRange", "The requested range is not satisfiable");
    http::HttpResponseHead error_head;
    error_head.status = 416;
    error_head.Set("x-amz-request-id", call.request_id);
    error_head.Set("Content-Range", absl::StrCat("bytes */", size));
    error_head.Set("Content-Type", "application/xml");
    std::string body = head_only ? "" : error.ToXml(r.RawPath(), call.request_id);
    call.exchange->Respond(error_head, body).IgnoreError();
    return;
  }
  AddObjectHeaders(&head, *object);
  head.Set("Accept-Ranges", "bytes");
  static constexpr std::pair<absl::string_view, absl::string_view> kOverrides[] = {
      {"response-content-type", "Content-Type"},
      {"response-content-language", "Content-Language"},
      {"response-expires", "Expires"},
      {"response-cache-control", "Cache-Control"},
      {"response-content-disposition", "Content-Disposition"},
      {"response-content-encoding", "Content-Encoding"}};
  for (const auto& [param, name] : kOverrides) {
    if (!call.Has(param)) continue;
    std::string value = call.Param(param);
    head.headers.erase(std::remove_if(head.headers.begin(), head.headers.end(),
                                      [&](const auto& h) { return h.first == name; }),
                       head.headers.end());
    head.Set(std::string(name), value);
  }
  if (absl::EqualsIgnoreCase(r.Header("x-amz-checksum-mode").value_or(""), "enabled") &&
      !range.has_value()) {
    for (const auto& [algorithm, value] : object->meta.checksums()) {
      head.Set("x-amz-checksum-" + algorithm, value);
    }
  }
  uint64_t first = 0, count = size;
  head.status = 200;
  if (range.has_value()) {
    first = range->first;
    count = range->last - range->first + 1;
    head.status = 206;
    head.Set("Content-Range", absl::StrCat("bytes ", range->first, "-", range->last, "/", size));
  }
  head.content_length = count;
  uint64_t offset = first;
  uint64_t end = first + count;
  auto stream = std::make_shared<BodyStream>();
  stream->call = call.shared_from_this();
  stream->store = &store_;
  stream->inode = object->attributes.inode;
  stream->offset = offset;
  stream->end = end;
  if (head_only || offset == end) {
    if (call.exchange->SendHead(head).ok()) call.exchange->Finish().IgnoreError();
    return;
  }
  // The first piece is read before the head goes out, so a backend that cannot serve the object
  // (a node down: 503 SlowDown) is answered with a proper error rather than a cut body.
  store_.ReadAsync(call.auth.identity, stream->inode, offset, std::min(kReadPiece, end - offset),
                   [stream, head = std::move(head)](S3Or<std::string> piece) {
                     Call& call = *stream->call;
                     if (!piece.ok()) return call.handler->SendError(call, piece.error());
                     if (!call.exchange->SendHead(head).ok()) {
                       call.exchange->Finish().IgnoreError();
                       return;
                     }
                     stream->Deliver(std::move(piece));
                   });
}

// The next piece of the body, read without waiting: Deliver sends it when the backend answers.
void S3Handler::BodyStream::Step() {
  Call& c = *call;
  std::shared_ptr<BodyStream> self = shared_from_this();
  store->ReadAsync(c.auth.identity, inode, offset, std::min(kReadPiece, end - offset),
                   [self](S3Or<std::string> data) { self->Deliver(std::move(data)); });
}

void S3Handler::BodyStream::Deliver(S3Or<std::string> data) {
  Call& c = *call;
  if (!data.ok() || data->empty()) {
    CFS_LOG_REQUEST(DEBUG, "s3", c.request_id)
        << "read of " << c.key << " failed at " << offset
        << (data.ok() ? ": no data" : ": " + data.error().message);
    // The head is out: the only honest signal left is to cut the connection short.
    return c.exchange->Abort();
  }
  offset += data->size();
  std::shared_ptr<BodyStream> self = shared_from_this();
  // When the client has a bound's worth queued, the exchange resumes this once it has read it
  // (no thread waits for a slow reader).
  std::function<void()> resume;
  if (offset < end) resume = [self] { self->Step(); };
  absl::StatusOr<bool> paused = c.exchange->SendBody(*std::move(data), resume);
  if (!paused.ok()) return c.exchange->Abort();
  if (offset >= end) {
    c.exchange->Finish().IgnoreError();
    return;
  }
  if (!*paused) Step();
}

void S3Handler::DeleteIfAsync(Call& call, std::string key, const DeleteConditions& conditions,
                              ObjectStore::Done<Ok> done) {
  if (!conditions.etag.has_value() && !conditions.mtime.has_value() &&
      !conditions.size.has_value()) {
    return store_.DeleteAsync(call.auth.identity, call.bucket, std::move(key), std::move(done));
  }
  // Checked, then deleted: a change in between is not seen (S3 gives no stronger promise on a
  // shared namespace either).
  store_.HeadAsync(
      call.auth.identity, call.bucket, key,
      [this, identity = call.auth.identity, bucket = call.bucket, key, conditions,
       done = std::move(done)](S3Or<ObjectInfo> object) mutable {
        if (!object.ok()) {
          // Deleting nothing succeeds.
          return std::move(done)(object.error().code == "NoSuchKey" ? S3Or<Ok>(Ok{})
                                                                    : S3Or<Ok>(object.error()));
        }
        if ((conditions.etag.has_value() &&
             !EtagListMatches(*conditions.etag, object->meta.etag())) ||
            (conditions.mtime.has_value() &&
             *conditions.mtime != absl::FromUnixSeconds(object->attributes.mtime.seconds)) ||
            (conditions.size.has_value() && *conditions.size != object->attributes.size)) {
          return std::move(done)(PreconditionFailed());
        }
        store_.DeleteAsync(identity, std::move(bucket), std::move(key), std::move(done));
      });
}

void S3Handler::DeleteObject(Call& call) {
  const http::HttpRequest& r = call.request();
  DeleteConditions conditions;
  if (std::optional<absl::string_view> etag = r.Header("if-match"); etag.has_value()) {
    conditions.etag = std::string(*etag);
  }
  if (std::optional<absl::string_view> mtime = r.Header("x-amz-if-match-last-modified-time");
      mtime.has_value()) {
    std::optional<int64_t> seconds = http::ParseHttpDate(*mtime);
    if (!seconds.has_value()) {
      return SendError(call, InvalidArgument("x-amz-if-match-last-modified-time is not a date"));
    }
    conditions.mtime = absl::FromUnixSeconds(*seconds);
  }
  if (std::optional<absl::string_view> size = r.Header("x-amz-if-match-size"); size.has_value()) {
    uint64_t value = 0;
    if (!absl::SimpleAtoi(*size, &value)) {
      return SendError(call, InvalidArgument("x-amz-if-match-size is not a number"));
    }
    conditions.size = value;
  }
  DeleteIfAsync(call, call.key, conditions, Then<Ok>(call, [this](Call& call, S3Or<Ok> removed) {
                  if (!removed.ok()) return SendError(call, removed.error());
                  SendEmpty(call, 204);
                }));
}

void S3Handler::CopyObject(Call& call) {
  std::string source_bucket, source_key;
  if (!ParseCopySource(*call.request().Header("x-amz-copy-source"), &source_bucket, &source_key)) {
    return SendError(call, InvalidArgument("Copy Source must mention the source bucket and key: "
                                           "sourcebucket/sourcekey"));
  }
  std::string directive(call.request().Header("x-amz-metadata-directive").value_or("COPY"));
  std::string tag_directive(call.request().Header("x-amz-tagging-directive").value_or("COPY"));
  if ((directive != "COPY" && directive != "REPLACE") ||
      (tag_directive != "COPY" && tag_directive != "REPLACE")) {
    return SendError(call, InvalidArgument("Unknown metadata directive."));
  }
  bool same = source_bucket == call.bucket && source_key == call.key;
  store_.HeadAsync(
      call.auth.identity, source_bucket, source_key,
      Then<ObjectInfo>(call, [this, directive, tag_directive, same](Call& call,
                                                                    S3Or<ObjectInfo> source) {
        if (!source.ok()) return SendError(call, source.error());
        if (EvaluateConditions(call.request(), *source, "x-amz-copy-source-") != 0) {
          return SendError(call, PreconditionFailed());
        }
        S3Or<ObjectMeta> given = MetaFromHeaders(call);
        if (!given.ok()) return SendError(call, given.error());
        ObjectMeta meta = source->meta;
        if (directive == "REPLACE") {
          *meta.mutable_headers() = given->headers();
          *meta.mutable_user_metadata() = given->user_metadata();
        }
        if (tag_directive == "REPLACE") *meta.mutable_tags() = given->tags();
        if (same && directive == "COPY" && tag_directive == "COPY") {
          return SendError(
              call, InvalidRequest("This copy request is illegal because it is trying to copy an "
                                   "object to itself without changing the object's metadata, "
                                   "storage class, website redirect location or encryption "
                                   "attributes."));
        }
        if (same) {
          store_.UpdateMetaAsync(
              call.auth.identity, source->attributes.inode, meta,
              Then<Ok>(call, [this, source = *source, meta](Call& call, S3Or<Ok> updated) {
                if (!updated.ok()) return SendError(call, updated.error());
                AnswerCopy(call, source.attributes, meta);
              }));
          return;
        }
        if (source->attributes.size > options_.max_object_size) {
          return SendError(call,
                           InvalidRequest("The specified copy source is larger than the maximum "
                                          "allowable size for a copy source: 5368709120"));
        }
        CopyObjectInto(call, *std::move(source), std::move(meta));
      }));
}

// A copy to another key: the bytes go through a staging file published as the new object.
void S3Handler::CopyObjectInto(Call& call, ObjectInfo source, ObjectMeta meta) {
  store_.HeadBucketAsync(
      call.auth.identity, call.bucket,
      Then<BucketInfo>(call, [this, source = std::move(source), meta = std::move(meta)](
                                 Call& call, S3Or<BucketInfo> bucket) mutable {
        if (!bucket.ok()) return SendError(call, bucket.error());
        store_.StageAsync(
            call.auth.identity, ObjectMode(bucket->attributes),
            Then<std::unique_ptr<StagedObject>>(
                call, [this, source = std::move(source), meta = std::move(meta)](
                          Call& call, S3Or<std::unique_ptr<StagedObject>> staged) mutable {
                  if (!staged.ok()) return SendError(call, staged.error());
                  auto held = std::make_shared<std::unique_ptr<StagedObject>>(*std::move(staged));
                  CopyIntoAsync(
                      store_, call.auth.identity, source.attributes.inode, 0,
                      source.attributes.size, **held,
                      Then<std::string>(call, [this, source, meta = std::move(meta), held](
                                                  Call& call, S3Or<std::string> md5) mutable {
                        if (!md5.ok()) return SendError(call, md5.error());
                        // A multipart ETag is kept as it was.
                        if (source.meta.parts() == 0) meta.set_etag(*md5);
                        store_.PublishAsync(
                            call.auth.identity, std::move(*held), call.bucket, call.key, meta,
                            Then<ObjectInfo>(call,
                                             [this, meta](Call& call, S3Or<ObjectInfo> published) {
                                               if (!published.ok())
                                                 return SendError(call, published.error());
                                               AnswerCopy(call, published->attributes, meta);
                                             }));
                      }));
                }));
      }));
}

void S3Handler::AnswerCopy(Call& call, const backend::Attributes& object, const ObjectMeta& meta) {
  XmlWriter xml("CopyObjectResult");
  xml.Element("LastModified", Iso8601(object.mtime)).Element("ETag", Quoted(meta.etag()));
  SendXml(call, 200, xml.Finish());
}

void S3Handler::GetTagging(Call& call) {
  store_.HeadAsync(call.auth.identity, call.bucket, call.key,
                   Then<ObjectInfo>(call, [this](Call& call, S3Or<ObjectInfo> object) {
                     if (!object.ok()) return SendError(call, object.error());
                     XmlWriter xml("Tagging");
                     xml.Open("TagSet");
                     std::map<std::string, std::string> sorted(object->meta.tags().begin(),
                                                               object->meta.tags().end());
                     for (const auto& [key, value] : sorted) {
                       xml.Open("Tag").Element("Key", key).Element("Value", value).Close("Tag");
                     }
                     xml.Close("TagSet");
                     SendXml(call, 200, xml.Finish());
                   }));
}

void S3Handler::PutTagging(Call& call) {
  ReadSmallBody(call, [this](Call& call, S3Or<std::string> body) { PutTagging(call, body); });
}

void S3Handler::PutTagging(Call& call, const S3Or<std::string>& body) {
  if (!body.ok()) return SendError(call, body.error());
  absl::StatusOr<std::map<std::string, std::string>> tags = ParseTagging(*body);
  if (!tags.ok()) return SendError(call, TagError(tags.status()));
  ReplaceTags(call, *std::move(tags), 200);
}

void S3Handler::DeleteTagging(Call& call) { ReplaceTags(call, {}, 204); }

void S3Handler::ReplaceTags(Call& call, std::map<std::string, std::string> tags, int status) {
  store_.HeadAsync(
      call.auth.identity, call.bucket, call.key,
      Then<ObjectInfo>(
          call, [this, tags = std::move(tags), status](Call& call, S3Or<ObjectInfo> object) {
            if (!object.ok()) return SendError(call, object.error());
            ObjectMeta meta = object->meta;
            meta.mutable_tags()->clear();
            for (const auto& [key, value] : tags) (*meta.mutable_tags())[key] = value;
            store_.UpdateMetaAsync(call.auth.identity, object->attributes.inode, meta,
                                   Then<Ok>(call, [this, status](Call& call, S3Or<Ok> updated) {
                                     if (!updated.ok()) return SendError(call, updated.error());
                                     SendEmpty(call, status);
                                   }));
          }));
}

void S3Handler::CreateMultipart(Call& call) {
  S3Or<ObjectMeta> meta = MetaFromHeaders(call);
  if (!meta.ok()) return SendError(call, meta.error());
  S3Or<std::vector<std::string>> path = KeyToPath(call.key, /*allow_trailing_slash=*/false);
  if (!path.ok()) return SendError(call, path.error());
  store_.HeadBucketAsync(
      call.auth.identity, call.bucket,
      Then<BucketInfo>(call, [this, meta = *std::move(meta)](Call& call, S3Or<BucketInfo> bucket) {
        if (!bucket.ok()) return SendError(call, bucket.error());
        StartUpload(call, bucket->attributes, meta);
      }));
}

void S3Handler::StartUpload(Call& call, const backend::Attributes& bucket, const ObjectMeta& meta) {
  UploadMeta upload;
  upload.set_bucket(call.bucket);
  upload.set_key(call.key);
  *upload.mutable_meta() = meta;
  upload.set_owner_uid(call.auth.identity.uid);
  upload.set_initiated_seconds(absl::ToUnixSeconds(absl::Now()));
  std::string algorithm =
      absl::AsciiStrToLower(call.request().Header("x-amz-checksum-algorithm").value_or(""));
  if (!algorithm.empty() && !ChecksumKind(algorithm).has_value()) {
    return SendError(call, InvalidRequest("Unknown x-amz-checksum-algorithm"));
  }
  upload.set_checksum_algorithm(algorithm);
  upload.set_object_mode(ObjectMode(bucket));
  store_.CreateUploadAsync(
      call.auth.identity, upload, Then<std::string>(call, [this](Call& call, S3Or<std::string> id) {
        if (!id.ok()) return SendError(call, id.error());
        XmlWriter xml("InitiateMultipartUploadResult");
        xml.Element("Bucket", call.bucket).Element("Key", call.key).Element("UploadId", *id);
        SendXml(call, 200, xml.Finish());
      }));
}

void S3Handler::UploadPart(Call& call) {
  int part_number = 0;
  if (!absl::SimpleAtoi(call.Param("partNumber"), &part_number) || part_number < 1 ||
      part_number > 10000) {
    return SendError(call, InvalidArgument("Part number must be an integer between 1 and 10000, "
                                           "inclusive"));
  }
  store_.GetUploadAsync(
      call.auth.identity, call.Param("uploadId"), call.bucket, call.key,
      Then<UploadInfo>(call, [this, part_number](Call& call, S3Or<UploadInfo> upload) {
        if (!upload.ok()) return SendError(call, upload.error());
        if (call.request().Header("x-amz-copy-source").has_value()) {
          return UploadPartCopy(call, *std::move(upload), part_number);
        }
        UploadPartBody(call, *std::move(upload), part_number);
      }));
}

void S3Handler::UploadPartCopy(Call& call, UploadInfo upload, int part_number) {
  std::string source_bucket, source_key;
  if (!ParseCopySource(*call.request().Header("x-amz-copy-source"), &source_bucket, &source_key)) {
    return SendError(call, InvalidArgument("Copy Source must mention the source bucket and key"));
  }
  store_.HeadAsync(
      call.auth.identity, source_bucket, source_key,
      Then<ObjectInfo>(call, [this, upload = std::move(upload), part_number](
                                 Call& call, S3Or<ObjectInfo> source) mutable {
        if (!source.ok()) return SendError(call, source.error());
        if (EvaluateConditions(call.request(), *source, "x-amz-copy-source-") != 0) {
          return SendError(call, PreconditionFailed());
        }
        uint64_t first = 0, end = source->attributes.size;
        std::optional<absl::string_view> range = call.request().Header("x-amz-copy-source-range");
        if (range.has_value()) {
          S3Or<ByteRange> parsed = ParseCopyRange(*range, source->attributes.size);
          if (!parsed.ok()) return SendError(call, parsed.error());
          first = parsed->first;
          end = parsed->last + 1;
        }
        backend::InodeNumber inode = source->attributes.inode;
        store_.StagePartAsync(
            call.auth.identity, upload, part_number, end - first,
            Then<std::unique_ptr<StagedObject>>(
                call, [this, upload, part_number, inode, first, end](
                          Call& call, S3Or<std::unique_ptr<StagedObject>> staged) mutable {
                  if (!staged.ok()) return SendError(call, staged.error());
                  auto held = std::make_shared<std::unique_ptr<StagedObject>>(*std::move(staged));
                  CopyIntoAsync(
                      store_, call.auth.identity, inode, first, end, **held,
                      Then<std::string>(call, [this, upload, part_number, held](
                                                  Call& call, S3Or<std::string> md5) mutable {
                        if (!md5.ok()) return SendError(call, md5.error());
                        PartMeta part;
                        part.set_etag(*md5);
                        store_.PublishPartAsync(
                            call.auth.identity, std::move(*held), upload, part_number, part,
                            Then<PartInfo>(call, [this](Call& call, S3Or<PartInfo> published) {
                              if (!published.ok()) return SendError(call, published.error());
                              XmlWriter xml("CopyPartResult");
                              xml.Element("LastModified", Iso8601(published->attributes.mtime))
                                  .Element("ETag", Quoted(published->meta.etag()));
                              SendXml(call, 200, xml.Finish());
                            }));
                      }));
                }));
      }));
}

void S3Handler::UploadPartBody(Call& call, UploadInfo upload, int part_number) {
  S3Or<std::unique_ptr<RequestBody>> started =
      RequestBody::Start(*call.exchange, call.auth, options_.max_object_size);
  if (!started.ok()) return SendError(call, started.error());
  auto body = std::shared_ptr<RequestBody>(*std::move(started));
  store_.HeadBucketAsync(
      call.auth.identity, call.bucket,
      Then<BucketInfo>(call, [this, upload = std::move(upload), part_number, body](
                                 Call& call, S3Or<BucketInfo> bucket) mutable {
        if (!bucket.ok()) return SendError(call, bucket.error());
        S3Or<Ok> room = CheckQuota(call, bucket->attributes.inode, body->expected_size(), 0);
        if (!room.ok()) return SendError(call, room.error());
        store_.StagePartAsync(
            call.auth.identity, upload, part_number, body->expected_size(),
            Then<std::unique_ptr<StagedObject>>(
                call, [this, upload, part_number, body](
                          Call& call, S3Or<std::unique_ptr<StagedObject>> staged) mutable {
                  if (!staged.ok()) return SendError(call, staged.error());
                  auto held = std::make_shared<std::unique_ptr<StagedObject>>(*std::move(staged));
                  ReceiveInto(
                      body, held,
                      [this, call = call.shared_from_this(), upload, part_number, body,
                       held](S3Or<RequestBody::Checksums> received) mutable {
                        if (!received.ok()) return SendError(*call, received.error());
                        PartMeta part;
                        part.set_etag(body->md5_hex());
                        for (const auto& [algorithm, value] : *received) {
                          (*part.mutable_checksums())[algorithm] = value;
                        }
                        store_.PublishPartAsync(
                            call->auth.identity, std::move(*held), upload, part_number, part,
                            Then<PartInfo>(*call, [this, checksums = *std::move(received)](
                                                      Call& call, S3Or<PartInfo> published) {
                              if (!published.ok()) return SendError(call, published.error());
                              http::HttpResponseHead head;
                              head.Set("ETag", Quoted(published->meta.etag()));
                              for (const auto& [algorithm, value] : checksums) {
                                head.Set("x-amz-checksum-" + algorithm, value);
                              }
                              SendEmpty(call, 200, head);
                            }));
                      });
                }));
      }));
}

void S3Handler::CompleteMultipart(Call& call) {
  ReadSmallBody(call,
                [this](Call& call, S3Or<std::string> body) { CompleteMultipart(call, body); });
}

void S3Handler::CompleteMultipart(Call& call, const S3Or<std::string>& body) {
  store_.GetUploadAsync(
      call.auth.identity, call.Param("uploadId"), call.bucket, call.key,
      Then<UploadInfo>(call, [this, body](Call& call, S3Or<UploadInfo> upload) {
        if (!upload.ok()) return SendError(call, upload.error());
        if (!body.ok()) return SendError(call, body.error());
        absl::StatusOr<std::vector<CompletePart>> wanted = ParseCompleteMultipart(*body);
        if (!wanted.ok()) return SendError(call, MalformedXml(wanted.status().message()));
        UploadInfo info = *upload;
        store_.ListPartsAsync(
            call.auth.identity, info,
            Then<std::vector<PartInfo>>(call, [this, info, wanted = *std::move(wanted)](
                                                  Call& call,
                                                  S3Or<std::vector<PartInfo>> parts) mutable {
              if (!parts.ok()) return SendError(call, parts.error());
              auto job = std::make_shared<Completion>();
              job->upload = std::move(info);
              job->parts = *std::move(parts);
              std::optional<S3Error> refused = ChooseParts(wanted, job.get());
              if (refused.has_value()) return SendError(call, *refused);
              XmlWriter xml("CompleteMultipartUploadResult");
              xml.Element("Location", absl::StrCat("/", call.bucket, "/", call.key))
                  .Element("Bucket", call.bucket)
                  .Element("Key", call.key)
                  .Element("ETag", Quoted(job->meta.etag()));
              job->document = xml.Finish();
              store_.PublishAssemblyAsync(
                  call.auth.identity, job->upload, job->chosen, call.bucket, call.key, job->meta,
                  [this, held = call.shared_from_this(),
                   job](std::optional<S3Or<ObjectInfo>> in_place) {
                    Call& call = *held;
                    if (!in_place.has_value()) return CompleteByCopy(call, job);
                    // Parts written in place, back to back: the assembly file became the
                    // object, no copy.
                    if (!in_place->ok()) return SendError(call, in_place->error());
                    // Only part markers are left.
                    store_.RemoveUploadAsync(call.auth.identity, job->upload,
                                             Then<Ok>(call, [this, job](Call& call, S3Or<Ok>) {
                                               SendXml(call, 200, job->document);
                                             }));
                  });
            }));
      }));
}

std::optional<S3Error> S3Handler::ChooseParts(const std::vector<CompletePart>& wanted,
                                              Completion* job) {
  std::map<int, const PartInfo*> by_number;
  for (const PartInfo& part : job->parts) by_number[part.number] = &part;
  for (size_t i = 0; i < wanted.size(); ++i) {
    const CompletePart& w = wanted[i];
    if (i > 0 && w.part_number <= wanted[i - 1].part_number) {
      return S3Error::Make(400, "InvalidPartOrder",
                           "The list of parts was not in ascending order. The parts list must be "
                           "specified in order by part number.");
    }
    auto it = by_number.find(w.part_number);
    if (it == by_number.end() || it->second->meta.etag() != w.etag) {
      return S3Error::Make(400, "InvalidPart",
                           "One or more of the specified parts could not be found. The part "
                           "might not have been uploaded, or the specified entity tag might not "
                           "have matched the part's entity tag.");
    }
    job->chosen.push_back(it->second);
  }
  for (size_t i = 0; i + 1 < job->chosen.size(); ++i) {
    if (job->chosen[i]->meta.size() < kMinPartSize) {
      return S3Error::Make(400, "EntityTooSmall",
                           "Your proposed upload is smaller than the minimum allowed object "
                           "size.");
    }
  }
  std::string md5s;
  for (const PartInfo* part : job->chosen) {
    absl::StrAppend(&md5s, absl::HexStringToBytes(part->meta.etag()));
  }
  job->meta = job->upload.meta.meta();
  job->meta.set_etag(
      absl::StrCat(HexEncode(DigestOf(DigestKind::kMd5, md5s)), "-", job->chosen.size()));
  job->meta.set_parts(static_cast<uint32_t>(job->chosen.size()));
  return std::nullopt;
}

// The parts are not back to back in the assembly file: they are copied into a new file. Long
// copies keep the client's connection alive with the response head and whitespace, as S3 does;
// an error after the head is reported inside the 200 body.
void S3Handler::CompleteByCopy(Call& call, std::shared_ptr<Completion> job) {
  uint32_t mode = job->upload.meta.object_mode() != 0 ? job->upload.meta.object_mode() : 0600;
  store_.StageAsync(
      call.auth.identity, mode,
      Then<std::unique_ptr<StagedObject>>(
          call, [this, job](Call& call, S3Or<std::unique_ptr<StagedObject>> staged) {
            if (!staged.ok()) return SendError(call, staged.error());
            job->staged = *std::move(staged);
            http::HttpResponseHead head;
            head.status = 200;
            head.Set("x-amz-request-id", call.request_id);
            head.Set("Content-Type", "application/xml");
            if (!call.exchange->SendHead(head).ok()) return;
            call.exchange->SendBody("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n").IgnoreError();
            CopyNextPart(call, job);
          }));
}

void S3Handler::CopyNextPart(Call& call, std::shared_ptr<Completion> job) {
  if (job->next < job->chosen.size()) {
    const PartInfo* part = job->chosen[job->next++];
    uint64_t first = part->meta.offset();
    CopyIntoAsync(store_, call.auth.identity, part->data_inode, first, first + part->meta.size(),
                  *job->staged,
                  Then<std::string>(call, [this, job](Call& call, S3Or<std::string> copied) {
                    if (!copied.ok()) return FailCompletion(call, copied.error());
                    if (job->staged->size() - job->sent_at >= (256u << 20)) {
                      job->sent_at = job->staged->size();
                      call.exchange->SendBody(" ").IgnoreError();
                    }
                    CopyNextPart(call, job);
                  }));
    return;
  }
  store_.PublishAsync(
      call.auth.identity, std::move(job->staged), call.bucket, call.key, job->meta,
      Then<ObjectInfo>(call, [this, job](Call& call, S3Or<ObjectInfo> published) {
        if (!published.ok()) return FailCompletion(call, published.error());
        // The object is in place; a failure here only leaves the staged parts behind.
        store_.RemoveUploadAsync(
            call.auth.identity, job->upload, Then<Ok>(call, [job](Call& call, S3Or<Ok>) {
              const std::string& document = job->document;
              call.exchange->SendBody(document.substr(document.find('\n') + 1)).IgnoreError();
              call.exchange->Finish().IgnoreError();
            }));
      }));
}

void S3Handler::FailCompletion(Call& call, const S3Error& error) {
  std::string error_xml = error.ToXml(call.request().RawPath(), call.request_id);
  call.exchange->SendBody(error_xml.substr(error_xml.find("<Error>"))).IgnoreError();
  call.exchange->Finish().IgnoreError();
}

void S3Handler::AbortMultipart(Call& call) {
  store_.GetUploadAsync(call.auth.identity, call.Param("uploadId"), call.bucket, call.key,
                        Then<UploadInfo>(call, [this](Call& call, S3Or<UploadInfo> upload) {
                          if (!upload.ok()) return SendError(call, upload.error());
                          store_.RemoveUploadAsync(
                              call.auth.identity, *upload,
                              Then<Ok>(call, [this](Call& call, S3Or<Ok> removed) {
                                if (!removed.ok()) return SendError(call, removed.error());
                                SendEmpty(call, 204);
                              }));
                        }));
}

void S3Handler::ListParts(Call& call) {
  store_.GetUploadAsync(
      call.auth.identity, call.Param("uploadId"), call.bucket, call.key,
      Then<UploadInfo>(call, [this](Call& call, S3Or<UploadInfo> upload) {
        if (!upload.ok()) return SendError(call, upload.error());
        UploadInfo info = *upload;
        store_.ListPartsAsync(
            call.auth.identity, info,
            Then<std::vector<PartInfo>>(
                call, [this, info](Call& call, S3Or<std::vector<PartInfo>> parts) {
                  AnswerListParts(call, info, std::move(parts));
                }));
      }));
}

void S3Handler::AnswerListParts(Call& call, const UploadInfo& info,
                                S3Or<std::vector<PartInfo>> parts) {
  const UploadInfo* upload = &info;
  if (!parts.ok()) return SendError(call, parts.error());
  int marker = 0;
  int max_parts = 1000;
  if (call.Has("part-number-marker") &&
      !absl::SimpleAtoi(call.Param("part-number-marker"), &marker)) {
    return SendError(call, InvalidArgument("part-number-marker must be an integer"));
  }
  if (call.Has("max-parts") &&
      (!absl::SimpleAtoi(call.Param("max-parts"), &max_parts) || max_parts < 0)) {
    return SendError(call, InvalidArgument("max-parts must be a non-negative integer"));
  }
  max_parts = std::min(max_parts, 1000);
  XmlWriter xml("ListPartsResult");
  xml.Element("Bucket", call.bucket)
      .Element("Key", call.key)
      .Element("UploadId", upload->upload_id)
      .Element("PartNumberMarker", std::to_string(marker));
  std::string owner = OwnerName(upload->meta.owner_uid());
  xml.Open("Initiator")
      .Element("ID", std::to_string(upload->meta.owner_uid()))
      .Element("DisplayName", owner)
      .Close("Initiator");
  xml.Open("Owner")
      .Element("ID", std::to_string(upload->meta.owner_uid()))
      .Element("DisplayName", owner)
      .Close("Owner");
  xml.Element("StorageClass", "STANDARD");
  std::string body;
  int listed = 0;
  int last = 0;
  bool truncated = false;
  for (const PartInfo& part : *parts) {
    if (part.number <= marker) continue;
    if (listed == max_parts) {
      truncated = true;
      break;
    }
    body += "<Part><PartNumber>" + std::to_string(part.number) + "</PartNumber><LastModified>" +
            Iso8601(backend::Timestamp{part.meta.mtime_seconds(), 0}) + "</LastModified><ETag>" +
            XmlEscape(Quoted(part.meta.etag())) + "</ETag><Size>" +
            std::to_string(part.meta.size()) + "</Size></Part>";
    last = part.number;
    ++listed;
  }
  xml.Element("NextPartNumberMarker", std::to_string(last))
      .Element("MaxParts", std::to_string(max_parts))
      .Element("IsTruncated", truncated ? "true" : "false");
  xml.Raw(body);
  SendXml(call, 200, xml.Finish());
}

void S3Handler::ListMultipartUploads(Call& call) {
  store_.HeadBucketAsync(call.auth.identity, call.bucket,
                         Then<BucketInfo>(call, [this](Call& call, S3Or<BucketInfo> bucket) {
                           if (!bucket.ok()) return SendError(call, bucket.error());
                           store_.ListUploadsAsync(
                               call.auth.identity, call.bucket,
                               Then<std::vector<UploadInfo>>(
                                   call, [this](Call& call, S3Or<std::vector<UploadInfo>> uploads) {
                                     AnswerListUploads(call, std::move(uploads));
                                   }));
                         }));
}

void S3Handler::AnswerListUploads(Call& call, S3Or<std::vector<UploadInfo>> uploads) {
  if (!uploads.ok()) return SendError(call, uploads.error());
  std::string prefix = call.Param("prefix");
  std::string key_marker = call.Param("key-marker");
  int max_uploads = 1000;
  if (call.Has("max-uploads") &&
      (!absl::SimpleAtoi(call.Param("max-uploads"), &max_uploads) || max_uploads < 0)) {
    return SendError(call, InvalidArgument("max-uploads must be a non-negative integer"));
  }
  max_uploads = std::min(max_uploads, 1000);
  XmlWriter xml("ListMultipartUploadsResult");
  xml.Element("Bucket", call.bucket)
      .Element("KeyMarker", key_marker)
      .Element("UploadIdMarker", call.Param("upload-id-marker"))
      .Element("Prefix", prefix)
      .Element("MaxUploads", std::to_string(max_uploads));
  std::string entries;
  int listed = 0;
  bool truncated = false;
  std::string next_key, next_id;
  for (const UploadInfo& upload : *uploads) {
    if (!absl::StartsWith(upload.meta.key(), prefix)) continue;
    if (!key_marker.empty() && upload.meta.key() <= key_marker) continue;
    if (listed == max_uploads) {
      truncated = true;
      break;
    }
    std::string owner = XmlEscape(OwnerName(upload.meta.owner_uid()));
    std::string id = std::to_string(upload.meta.owner_uid());
    entries += "<Upload><Key>" + XmlEscape(upload.meta.key()) + "</Key><UploadId>" +
               upload.upload_id + "</UploadId><Initiator><ID>" + id + "</ID><DisplayName>" + owner +
               "</DisplayName></Initiator><Owner><ID>" + id + "</ID><DisplayName>" + owner +
               "</DisplayName></Owner><StorageClass>STANDARD</StorageClass><Initiated>" +
               Iso8601(backend::Timestamp{upload.meta.initiated_seconds(), 0}) +
               "</Initiated></Upload>";
    next_key = upload.meta.key();
    next_id = upload.upload_id;
    ++listed;
  }
  xml.Element("NextKeyMarker", truncated ? next_key : "")
      .Element("NextUploadIdMarker", truncated ? next_id : "")
      .Element("IsTruncated", truncated ? "true" : "false");
  xml.Raw(entries);
  SendXml(call, 200, xml.Finish());
}

}  // namespace cfs::s3
