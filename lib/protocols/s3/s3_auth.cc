#include "lib/protocols/s3/s3_auth.h"

#include <algorithm>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/protocols/s3/digests.h"
#include "lib/protocols/s3/sigv4.h"

namespace cfs::s3 {

namespace {

using Query = std::vector<std::pair<std::string, std::string>>;

std::optional<std::string> QueryValue(const Query& query, absl::string_view name) {
  for (const auto& [key, value] : query) {
    if (key == name) return value;
  }
  return std::nullopt;
}

S3Error SignatureMismatch() {
  return S3Error::Make(403, "SignatureDoesNotMatch",
                       "The request signature we calculated does not match the signature you "
                       "provided. Check your key and signing method.");
}

S3Error Skewed() {
  return S3Error::Make(403, "RequestTimeTooSkewed",
                       "The difference between the request time and the current time is too "
                       "large.");
}

S3Error Malformed(absl::string_view why) {
  return S3Error::Make(400, "AuthorizationHeaderMalformed", why);
}

// "YYYYMMDDTHHMMSSZ" (ISO 8601 basic format, UTC). absl::ParseTime's %Y would take all eight
// leading digits as the year, so the fields are cut by position.
std::optional<absl::Time> ParseAmzDate(absl::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  int fields[6];
  const int offsets[6][2] = {{0, 4}, {4, 2}, {6, 2}, {9, 2}, {11, 2}, {13, 2}};
  for (int i = 0; i < 6; ++i) {
    absl::string_view digits = text.substr(offsets[i][0], offsets[i][1]);
    if (!std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
        !absl::SimpleAtoi(digits, &fields[i])) {
      return std::nullopt;
    }
  }
  absl::CivilSecond civil(fields[0], fields[1], fields[2], fields[3], fields[4], fields[5]);
  if (civil.year() != fields[0] || civil.month() != fields[1] || civil.day() != fields[2] ||
      civil.hour() != fields[3] || civil.minute() != fields[4] || civil.second() != fields[5]) {
    return std::nullopt;  // normalised: the fields were out of range
  }
  return absl::FromCivil(civil, absl::UTCTimeZone());
}

struct KeyOwner {
  backend::Identity identity;
  std::string secret;
};

S3Or<KeyOwner> FindKey(const auth::UserStore& users, absl::string_view access_key) {
  std::optional<auth::UserStore::KeyMatch> match = users.FindByAccessKey(access_key);
  if (!match.has_value()) {
    return S3Error::Make(403, "InvalidAccessKeyId",
                         "The AWS Access Key Id you provided does not exist in our records.");
  }
  backend::Identity identity = match->user.ToIdentity();
  identity.principal = std::string(access_key);
  return KeyOwner{identity, match->key.secret};
}

// ---- Signature V4 ----

// SigV4 signs only the headers the client lists, so an x-amz-* header outside that list could
// change what the request does (an unsigned x-amz-copy-source turns a presigned PUT into a copy
// of any object the signer may read). AWS refuses such requests, and so do we. The one
// exemption is x-amz-content-sha256 on a presigned URL: its value is the payload hash of the
// canonical request, so it is covered by the signature either way.
std::optional<S3Error> RefuseUnsignedAmzHeaders(const http::HttpRequest& r,
                                                const std::vector<std::string>& signed_headers,
                                                bool presigned) {
  std::vector<std::string> missing;
  for (const auto& [name, value] : r.headers) {
    if (!absl::StartsWith(name, "x-amz-")) continue;
    if (presigned && name == "x-amz-content-sha256") continue;
    bool listed =
        std::any_of(signed_headers.begin(), signed_headers.end(),
                    [&](const std::string& h) { return absl::EqualsIgnoreCase(h, name); });
    if (!listed && std::find(missing.begin(), missing.end(), name) == missing.end()) {
      missing.push_back(name);
    }
  }
  if (missing.empty()) return std::nullopt;
  S3Error error = AccessDenied("There were headers present in the request which were not signed");
  error.details.emplace_back("HeadersNotSigned", absl::StrJoin(missing, ", "));
  return error;
}

S3Or<AuthResult> FinishV4(const AuthInput& input, const auth::UserStore& users,
                          const SigV4Credential& credential,
                          const std::vector<std::string>& signed_headers,
                          absl::string_view signature, absl::string_view amz_date,
                          absl::string_view payload_hash, bool presigned) {
  const http::HttpRequest& r = *input.request;
  if (credential.service != "s3") return Malformed("The credential scope service must be s3");
  if (amz_date.substr(0, 8) != credential.date) {
    return Malformed("The credential date does not match the request date");
  }
  S3Or<KeyOwner> owner = FindKey(users, credential.access_key);
  if (!owner.ok()) return owner.error();
  CanonicalInput canonical_input{r.method,       r.RawPath(),  r.RawQuery(), &r.headers,
                                 signed_headers, payload_hash, presigned};
  absl::StatusOr<std::string> canonical = CanonicalRequest(canonical_input);
  if (!canonical.ok()) return Malformed(canonical.status().message());
  std::string key = SigningKey(owner->secret, credential);
  std::string expected = SignatureHex(key, StringToSign(amz_date, credential.Scope(), *canonical));
  if (!SecureEquals(expected, signature)) return SignatureMismatch();
  if (std::optional<S3Error> unsigned_headers =
          RefuseUnsignedAmzHeaders(r, signed_headers, presigned);
      unsigned_headers.has_value()) {
    return *unsigned_headers;
  }

  AuthResult result;
  result.identity = owner->identity;
  result.access_key = credential.access_key;
  if (payload_hash == "UNSIGNED-PAYLOAD") {
    result.payload = PayloadMode::kUnsigned;
  } else if (payload_hash == "STREAMING-UNSIGNED-PAYLOAD-TRAILER") {
    result.payload = PayloadMode::kStreamingUnsignedTrailer;
  } else if (payload_hash == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" ||
             payload_hash == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER") {
    result.payload = absl::EndsWith(payload_hash, "TRAILER") ? PayloadMode::kStreamingSignedTrailer
                                                             : PayloadMode::kStreamingSigned;
    result.chunk_signing =
        ChunkSigning{key, std::string(amz_date), credential.Scope(), std::string(signature)};
  } else {
    result.payload = PayloadMode::kSha256;
    result.payload_sha256 = std::string(payload_hash);
  }
  return result;
}

bool IsKnownPayloadHash(absl::string_view value) {
  if (value.size() == 64 && std::all_of(value.begin(), value.end(), [](char c) {
        return absl::ascii_isdigit(c) || (c >= 'a' && c <= 'f');
      })) {
    return true;
  }
  return value == "UNSIGNED-PAYLOAD" || value == "STREAMING-UNSIGNED-PAYLOAD-TRAILER" ||
         value == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD" ||
         value == "STREAMING-AWS4-HMAC-SHA256-PAYLOAD-TRAILER";
}

S3Or<AuthResult> HeaderV4(const AuthInput& input, const auth::UserStore& users,
                          absl::string_view header) {
  const http::HttpRequest& r = *input.request;
  absl::StatusOr<SigV4Authorization> parsed = ParseAuthorizationHeader(header);
  if (!parsed.ok()) return Malformed(parsed.status().message());
  std::optional<absl::string_view> amz_date = r.Header("x-amz-date");
  std::optional<absl::Time> when;
  if (amz_date.has_value()) when = ParseAmzDate(*amz_date);
  if (!when.has_value()) {
    return S3Error::Make(403, "AccessDenied",
                         "AWS authentication requires a valid x-amz-date header");
  }
  if (absl::AbsDuration(input.now - *when) > kMaxClockSkew) return Skewed();
  std::optional<absl::string_view> payload = r.Header("x-amz-content-sha256");
  if (!payload.has_value()) {
    return InvalidRequest("Missing required header for this request: x-amz-content-sha256");
  }
  if (!IsKnownPayloadHash(*payload)) {
    return InvalidArgument(
        "x-amz-content-sha256 must be UNSIGNED-PAYLOAD, STREAMING-... or a "
        "SHA256 value.");
  }
  return FinishV4(input, users, parsed->credential, parsed->signed_headers, parsed->signature,
                  *amz_date, *payload, /*presigned=*/false);
}

S3Or<AuthResult> PresignedV4(const AuthInput& input, const auth::UserStore& users,
                             const Query& query) {
  std::optional<std::string> algorithm = QueryValue(query, "X-Amz-Algorithm");
  std::optional<std::string> credential_text = QueryValue(query, "X-Amz-Credential");
  std::optional<std::string> date = QueryValue(query, "X-Amz-Date");
  std::optional<std::string> expires_text = QueryValue(query, "X-Amz-Expires");
  std::optional<std::string> headers_text = QueryValue(query, "X-Amz-SignedHeaders");
  std::optional<std::string> signature = QueryValue(query, "X-Amz-Signature");
  if (*algorithm != kSigV4Algorithm) {
    return S3Error::Make(400, "AuthorizationQueryParametersError",
                         "X-Amz-Algorithm only supports \"AWS4-HMAC-SHA256\"");
  }
  if (!credential_text || !date || !expires_text || !headers_text || !signature) {
    return S3Error::Make(400, "AuthorizationQueryParametersError",
                         "Query-string authentication version 4 requires the X-Amz-Algorithm, "
                         "X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, "
                         "and X-Amz-Expires parameters.");
  }
  absl::StatusOr<SigV4Credential> credential = ParseCredential(*credential_text);
  if (!credential.ok()) {
    return S3Error::Make(400, "AuthorizationQueryParametersError", credential.status().message());
  }
  std::optional<absl::Time> when = ParseAmzDate(*date);
  int64_t expires = 0;
  if (!when.has_value() || !absl::SimpleAtoi(*expires_text, &expires) || expires < 1 ||
      expires > 604800) {
    return S3Error::Make(400, "AuthorizationQueryParametersError",
                         "X-Amz-Date must be YYYYMMDDTHHMMSSZ and X-Amz-Expires 1..604800");
  }
  if (input.now > *when + absl::Seconds(expires)) {
    return AccessDenied("Request has expired");
  }
  if (*when - input.now > kMaxClockSkew) return AccessDenied("Request is not yet valid");
  std::vector<std::string> signed_headers = absl::StrSplit(*headers_text, ';', absl::SkipEmpty());
  std::string payload = "UNSIGNED-PAYLOAD";
  std::optional<absl::string_view> given = input.request->Header("x-amz-content-sha256");
  if (given.has_value()) payload = std::string(*given);
  S3Or<AuthResult> result = FinishV4(input, users, *credential, signed_headers, *signature, *date,
                                     payload, /*presigned=*/true);
  return result;
}

// ---- Signature V2 ----

constexpr absl::string_view kV2SubResources[] = {"acl",
                                                 "cors",
                                                 "delete",
                                                 "lifecycle",
                                                 "location",
                                                 "logging",
                                                 "notification",
                                                 "partNumber",
                                                 "policy",
                                                 "requestPayment",
                                                 "response-cache-control",
                                                 "response-content-disposition",
                                                 "response-content-encoding",
                                                 "response-content-language",
                                                 "response-content-type",
                                                 "response-expires",
                                                 "tagging",
                                                 "torrent",
                                                 "uploadId",
                                                 "uploads",
                                                 "versionId",
                                                 "versioning",
                                                 "versions",
                                                 "website"};

std::string V2StringToSign(const AuthInput& input, const Query& query,
                           absl::string_view date_or_expires) {
  const http::HttpRequest& r = *input.request;
  std::string out =
      absl::StrCat(r.method, "\n", r.Header("content-md5").value_or(""), "\n",
                   r.Header("content-type").value_or(""), "\n", date_or_expires, "\n");
  std::vector<std::pair<std::string, std::string>> amz;
  for (const auto& [name, value] : r.headers) {
    if (absl::StartsWith(name, "x-amz-")) amz.emplace_back(name, value);
  }
  std::stable_sort(amz.begin(), amz.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (size_t i = 0; i < amz.size(); ++i) {
    if (i > 0 && amz[i].first == amz[i - 1].first) {
      absl::StrAppend(&out, ",", amz[i].second);  // folded into the previous line
      continue;
    }
    if (i > 0) out += "\n";
    absl::StrAppend(&out, amz[i].first, ":", amz[i].second);
  }
  if (!amz.empty()) out += "\n";
  std::string resource;
  if (!input.bucket_from_host.empty()) resource = "/" + input.bucket_from_host;
  resource += std::string(r.RawPath());
  std::vector<std::pair<std::string, std::string>> sub;
  for (const auto& [name, value] : query) {
    if (std::find(std::begin(kV2SubResources), std::end(kV2SubResources), name) !=
        std::end(kV2SubResources)) {
      sub.emplace_back(name, value);
    }
  }
  std::sort(sub.begin(), sub.end());
  for (size_t i = 0; i < sub.size(); ++i) {
    absl::StrAppend(&resource, i == 0 ? "?" : "&", sub[i].first);
    if (!sub[i].second.empty()) absl::StrAppend(&resource, "=", sub[i].second);
  }
  return out + resource;
}

S3Or<AuthResult> FinishV2(const AuthInput& input, const auth::UserStore& users,
                          absl::string_view access_key, absl::string_view signature,
                          const std::string& string_to_sign) {
  S3Or<KeyOwner> owner = FindKey(users, access_key);
  if (!owner.ok()) return owner.error();
  std::string expected = Base64Encode(HmacSha1(owner->secret, string_to_sign));
  if (!SecureEquals(expected, signature)) return SignatureMismatch();
  AuthResult result;
  result.identity = owner->identity;
  result.access_key = std::string(access_key);
  result.payload = PayloadMode::kUnsigned;
  return result;
}

S3Or<AuthResult> HeaderV2(const AuthInput& input, const auth::UserStore& users,
                          absl::string_view header, const Query& query) {
  absl::string_view rest = header.substr(4);  // after "AWS "
  size_t colon = rest.rfind(':');
  if (colon == absl::string_view::npos || colon == 0) {
    return Malformed("The authorization header is malformed; expected AWS <key>:<signature>");
  }
  const http::HttpRequest& r = *input.request;
  std::optional<absl::string_view> date = r.Header("x-amz-date");
  bool amz_date = date.has_value();
  if (!amz_date) date = r.Header("date");
  std::optional<int64_t> when;
  if (date.has_value()) when = http::ParseHttpDate(*date);
  if (!when.has_value()) {
    return AccessDenied("AWS authentication requires a valid Date or x-amz-date header");
  }
  if (absl::AbsDuration(input.now - absl::FromUnixSeconds(*when)) > kMaxClockSkew) {
    return Skewed();
  }
  // With x-amz-date, the Date line is empty (the header is among the x-amz-* lines).
  std::string sts = V2StringToSign(input, query, amz_date ? "" : *date);
  return FinishV2(input, users, rest.substr(0, colon), rest.substr(colon + 1), sts);
}

S3Or<AuthResult> PresignedV2(const AuthInput& input, const auth::UserStore& users,
                             const Query& query) {
  std::optional<std::string> key = QueryValue(query, "AWSAccessKeyId");
  std::optional<std::string> expires = QueryValue(query, "Expires");
  std::optional<std::string> signature = QueryValue(query, "Signature");
  int64_t deadline = 0;
  if (!key || !expires || !signature || !absl::SimpleAtoi(*expires, &deadline)) {
    return AccessDenied(
        "Query-string authentication requires AWSAccessKeyId, Expires and "
        "Signature");
  }
  if (absl::ToUnixSeconds(input.now) > deadline) return AccessDenied("Request has expired");
  return FinishV2(input, users, *key, *signature, V2StringToSign(input, query, *expires));
}

}  // namespace

S3Or<AuthResult> Authenticate(const AuthInput& input, const auth::UserStore& users) {
  const http::HttpRequest& r = *input.request;
  Query query;
  if (!http::ParseQuery(r.RawQuery(), &query)) return InvalidArgument("Bad escape in the query");
  std::optional<absl::string_view> header = r.Header("authorization");
  if (header.has_value()) {
    if (absl::StartsWith(*header, "AWS4-HMAC-SHA256")) return HeaderV4(input, users, *header);
    if (absl::StartsWith(*header, "AWS ")) return HeaderV2(input, users, *header, query);
    return S3Error::Make(400, "InvalidArgument", "Unsupported Authorization Type");
  }
  if (QueryValue(query, "X-Amz-Algorithm").has_value()) return PresignedV4(input, users, query);
  if (QueryValue(query, "Signature").has_value()) return PresignedV2(input, users, query);
  AuthResult anonymous;
  anonymous.identity = backend::Identity::Of(65534, 65534);
  anonymous.identity.principal = "anonymous";
  anonymous.anonymous = true;
  return anonymous;
}

}  // namespace cfs::s3
