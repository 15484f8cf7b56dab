#include "lib/protocols/s3/sigv4.h"

#include <algorithm>
#include <map>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "lib/protocols/http/http_message.h"
#include "lib/protocols/s3/digests.h"

namespace cfs::s3 {

std::string SigV4Credential::Scope() const {
  return absl::StrCat(date, "/", region, "/", service, "/aws4_request");
}

absl::StatusOr<SigV4Credential> ParseCredential(absl::string_view text) {
  std::vector<absl::string_view> parts = absl::StrSplit(text, '/');
  if (parts.size() != 5 || parts[4] != "aws4_request") {
    return absl::InvalidArgumentError(
        "the credential must be <access key>/<date>/<region>/<service>/aws4_request");
  }
  if (parts[1].size() != 8 || !std::all_of(parts[1].begin(), parts[1].end(), absl::ascii_isdigit)) {
    return absl::InvalidArgumentError("the credential date must be YYYYMMDD");
  }
  SigV4Credential c;
  c.access_key = std::string(parts[0]);
  c.date = std::string(parts[1]);
  c.region = std::string(parts[2]);
  c.service = std::string(parts[3]);
  if (c.access_key.empty()) return absl::InvalidArgumentError("empty access key");
  return c;
}

absl::StatusOr<SigV4Authorization> ParseAuthorizationHeader(absl::string_view header) {
  if (!absl::ConsumePrefix(&header, kSigV4Algorithm) || header.empty() || (header[0] != ' ')) {
    return absl::InvalidArgumentError("the authorization header is not AWS4-HMAC-SHA256");
  }
  SigV4Authorization out;
  bool have_credential = false, have_headers = false, have_signature = false;
  for (absl::string_view part : absl::StrSplit(header, ',')) {
    part = absl::StripAsciiWhitespace(part);
    size_t eq = part.find('=');
    if (eq == absl::string_view::npos) {
      return absl::InvalidArgumentError("malformed authorization header component");
    }
    absl::string_view name = part.substr(0, eq);
    absl::string_view value = part.substr(eq + 1);
    if (name == "Credential") {
      absl::StatusOr<SigV4Credential> c = ParseCredential(value);
      if (!c.ok()) return c.status();
      out.credential = *std::move(c);
      have_credential = true;
    } else if (name == "SignedHeaders") {
      out.signed_headers = absl::StrSplit(value, ';', absl::SkipEmpty());
      have_headers = !out.signed_headers.empty();
    } else if (name == "Signature") {
      out.signature = std::string(value);
      have_signature = value.size() == 64;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("unknown component ", name));
    }
  }
  if (!have_credential || !have_headers || !have_signature) {
    return absl::InvalidArgumentError(
        "the authorization header needs Credential, SignedHeaders and a 64-digit Signature");
  }
  return out;
}

std::string AwsUriEncode(absl::string_view in, bool keep_slash) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(in.size() * 3);
  for (unsigned char c : in) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
        (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

namespace {
// Trims and collapses runs of spaces (SigV4 canonical header values).
std::string CanonicalHeaderValue(absl::string_view value) {
  value = absl::StripAsciiWhitespace(value);
  std::string out;
  bool space = false;
  for (char c : value) {
    if (c == ' ' || c == '\t') {
      space = true;
      continue;
    }
    if (space && !out.empty()) out.push_back(' ');
    space = false;
    out.push_back(c);
  }
  return out;
}
}  // namespace

absl::StatusOr<std::string> CanonicalRequest(const CanonicalInput& input) {
  std::string path;
  if (!http::PercentDecode(input.raw_path, &path)) {
    return absl::InvalidArgumentError("bad escape in the path");
  }
  std::string canonical_uri = AwsUriEncode(path.empty() ? "/" : path, /*keep_slash=*/true);

  std::vector<std::pair<std::string, std::string>> query;
  if (!http::ParseQuery(input.raw_query, &query)) {
    return absl::InvalidArgumentError("bad escape in the query");
  }
  std::vector<std::pair<std::string, std::string>> encoded;
  for (const auto& [name, value] : query) {
    if (input.drop_signature_param && name == "X-Amz-Signature") continue;
    encoded.emplace_back(AwsUriEncode(name, false), AwsUriEncode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string canonical_query;
  for (const auto& [name, value] : encoded) {
    if (!canonical_query.empty()) canonical_query += '&';
    absl::StrAppend(&canonical_query, name, "=", value);
  }

  std::vector<std::string> signed_headers = input.signed_headers;
  std::sort(signed_headers.begin(), signed_headers.end());
  if (!std::binary_search(signed_headers.begin(), signed_headers.end(), "host")) {
    return absl::InvalidArgumentError("the host header must be signed");
  }
  std::string canonical_headers;
  for (const std::string& name : signed_headers) {
    std::vector<std::string> values;
    for (const auto& [key, value] : *input.headers) {
      if (key == name) values.push_back(CanonicalHeaderValue(value));
    }
    if (values.empty()) {
      return absl::InvalidArgumentError(absl::StrCat("signed header ", name, " is missing"));
    }
    absl::StrAppend(&canonical_headers, name, ":", absl::StrJoin(values, ","), "\n");
  }
  return absl::StrCat(input.method, "\n", canonical_uri, "\n", canonical_query, "\n",
                      canonical_headers, "\n", absl::StrJoin(signed_headers, ";"), "\n",
                      input.payload_hash);
}

std::string StringToSign(absl::string_view amz_date, absl::string_view scope,
                         absl::string_view canonical_request) {
  return absl::StrCat(kSigV4Algorithm, "\n", amz_date, "\n", scope, "\n",
                      HexEncode(DigestOf(DigestKind::kSha256, canonical_request)));
}

std::string SigningKey(absl::string_view secret, const SigV4Credential& credential) {
  std::string key = HmacSha256(absl::StrCat("AWS4", secret), credential.date);
  key = HmacSha256(key, credential.region);
  key = HmacSha256(key, credential.service);
  return HmacSha256(key, "aws4_request");
}

std::string SignatureHex(absl::string_view signing_key, absl::string_view string_to_sign) {
  return HexEncode(HmacSha256(signing_key, string_to_sign));
}

std::string ChunkStringToSign(absl::string_view amz_date, absl::string_view scope,
                              absl::string_view previous_signature,
                              absl::string_view chunk_sha256_hex) {
  return absl::StrCat("AWS4-HMAC-SHA256-PAYLOAD\n", amz_date, "\n", scope, "\n", previous_signature,
                      "\n", kEmptySha256, "\n", chunk_sha256_hex);
}

std::string TrailerStringToSign(absl::string_view amz_date, absl::string_view scope,
                                absl::string_view previous_signature,
                                absl::string_view trailer_sha256_hex) {
  return absl::StrCat("AWS4-HMAC-SHA256-TRAILER\n", amz_date, "\n", scope, "\n", previous_signature,
                      "\n", trailer_sha256_hex);
}

}  // namespace cfs::s3
