#include "lib/protocols/s3/xml.h"

#include <pugixml.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cfs::s3 {

std::string XmlEscape(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      case '\r':
        out += "&#13;";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\n' && c != '\t') {
          absl::StrAppend(&out, "&#", static_cast<int>(c), ";");
        } else {
          out.push_back(c);
        }
    }
  }
  return out;
}

XmlWriter::XmlWriter(absl::string_view root) : root_(root) {
  out_ = absl::StrCat("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<", root, " xmlns=\"",
                      kS3Namespace, "\">");
}

XmlWriter& XmlWriter::Open(absl::string_view name) {
  absl::StrAppend(&out_, "<", name, ">");
  return *this;
}

XmlWriter& XmlWriter::Close(absl::string_view name) {
  absl::StrAppend(&out_, "</", name, ">");
  return *this;
}

XmlWriter& XmlWriter::Element(absl::string_view name, absl::string_view text) {
  absl::StrAppend(&out_, "<", name, ">", XmlEscape(text), "</", name, ">");
  return *this;
}

XmlWriter& XmlWriter::Raw(absl::string_view xml) {
  out_.append(xml.data(), xml.size());
  return *this;
}

std::string XmlWriter::Finish() {
  absl::StrAppend(&out_, "</", root_, ">");
  return std::move(out_);
}

namespace {

absl::Status Malformed(absl::string_view why) { return absl::InvalidArgumentError(why); }

// Parses `xml` and checks the root element's name (namespace prefixes ignored).
absl::StatusOr<pugi::xml_node> Load(pugi::xml_document& doc, absl::string_view xml,
                                    absl::string_view root) {
  if (xml.size() > kMaxXmlBody) return Malformed("the XML body is too large");
  if (absl::StrContains(xml, "<!DOCTYPE") || absl::StrContains(xml, "<!ENTITY")) {
    return Malformed("DOCTYPE and entity declarations are not accepted");
  }
  // Text that is only whitespace is data too (a key " ", a tag value " "), when it is all an
  // element holds.
  pugi::xml_parse_result result =
      doc.load_buffer(xml.data(), xml.size(),
                      (pugi::parse_default | pugi::parse_ws_pcdata_single) & ~pugi::parse_doctype);
  if (!result) return Malformed(absl::StrCat("not well-formed XML: ", result.description()));
  pugi::xml_node node = doc.document_element();
  absl::string_view name = node.name();
  size_t colon = name.find(':');
  if (colon != absl::string_view::npos) name.remove_prefix(colon + 1);
  if (name != root) return Malformed(absl::StrCat("the root element must be ", root));
  return node;
}

absl::string_view LocalName(const pugi::xml_node& node) {
  absl::string_view name = node.name();
  size_t colon = name.find(':');
  if (colon != absl::string_view::npos) name.remove_prefix(colon + 1);
  return name;
}

std::string Text(const pugi::xml_node& node) { return node.text().get(); }

}  // namespace

absl::Status ValidateTag(absl::string_view key, absl::string_view value) {
  if (key.empty() || key.size() > 128) {
    return absl::OutOfRangeError("The TagKey you have provided is invalid (1 to 128 characters)");
  }
  if (value.size() > 256) {
    return absl::OutOfRangeError("The TagValue you have provided is too long (256 characters)");
  }
  return absl::OkStatus();
}

absl::Status ValidateTagCount(size_t count) {
  if (count > 10) return absl::OutOfRangeError("Object tags cannot be greater than 10");
  return absl::OkStatus();
}

absl::StatusOr<DeleteRequest> ParseDeleteRequest(absl::string_view xml) {
  pugi::xml_document doc;
  absl::StatusOr<pugi::xml_node> root = Load(doc, xml, "Delete");
  if (!root.ok()) return root.status();
  DeleteRequest out;
  for (pugi::xml_node child : root->children()) {
    if (child.type() != pugi::node_element) continue;
    absl::string_view name = LocalName(child);
    if (name == "Quiet") {
      out.quiet = absl::EqualsIgnoreCase(absl::StripAsciiWhitespace(Text(child)), "true");
    } else if (name == "Object") {
      DeleteRequest::Object object;
      bool have_key = false;
      for (pugi::xml_node field : child.children()) {
        if (LocalName(field) == "Key") {
          object.key = Text(field);
          have_key = true;
        } else if (LocalName(field) == "VersionId") {
          object.version_id = Text(field);
        } else if (LocalName(field) == "ETag") {
          object.etag = Text(field);
        } else if (LocalName(field) == "LastModifiedTime") {
          object.last_modified_time = Text(field);
        } else if (LocalName(field) == "Size") {
          uint64_t size = 0;
          if (!absl::SimpleAtoi(Text(field), &size)) return Malformed("Size must be a number");
          object.size = size;
        }
      }
      if (!have_key) return Malformed("an Object without a Key");
      out.objects.push_back(std::move(object));
    }
  }
  if (out.objects.empty()) return Malformed("no Object to delete");
  if (out.objects.size() > 1000) return Malformed("at most 1000 objects per request");
  return out;
}

absl::StatusOr<std::vector<CompletePart>> ParseCompleteMultipart(absl::string_view xml) {
  pugi::xml_document doc;
  absl::StatusOr<pugi::xml_node> root = Load(doc, xml, "CompleteMultipartUpload");
  if (!root.ok()) return root.status();
  std::vector<CompletePart> parts;
  for (pugi::xml_node child : root->children()) {
    if (child.type() != pugi::node_element || LocalName(child) != "Part") continue;
    CompletePart part;
    bool have_number = false;
    for (pugi::xml_node field : child.children()) {
      absl::string_view name = LocalName(field);
      if (name == "PartNumber") {
        have_number = absl::SimpleAtoi(Text(field), &part.part_number);
      } else if (name == "ETag") {
        std::string etag(absl::StripAsciiWhitespace(Text(field)));
        if (etag.size() >= 2 && etag.front() == '"' && etag.back() == '"') {
          etag = etag.substr(1, etag.size() - 2);
        }
        part.etag = std::move(etag);
      }
    }
    if (!have_number) return Malformed("a Part without a valid PartNumber");
    parts.push_back(std::move(part));
  }
  if (parts.empty()) return Malformed("no Part in CompleteMultipartUpload");
  return parts;
}

absl::StatusOr<std::map<std::string, std::string>> ParseTagging(absl::string_view xml) {
  pugi::xml_document doc;
  absl::StatusOr<pugi::xml_node> root = Load(doc, xml, "Tagging");
  if (!root.ok()) return root.status();
  std::map<std::string, std::string> tags;
  for (pugi::xml_node set : root->children()) {
    if (LocalName(set) != "TagSet") continue;
    for (pugi::xml_node tag : set.children()) {
      if (LocalName(tag) != "Tag") continue;
      std::string key, value;
      bool have_key = false;
      for (pugi::xml_node field : tag.children()) {
        if (LocalName(field) == "Key") {
          key = Text(field);
          have_key = true;
        } else if (LocalName(field) == "Value") {
          value = Text(field);
        }
      }
      if (!have_key) return Malformed("a Tag without a Key");
      absl::Status valid = ValidateTag(key, value);
      if (!valid.ok()) return valid;
      if (!tags.emplace(key, value).second) {
        return absl::OutOfRangeError("Cannot provide multiple Tags with the same key");
      }
    }
  }
  absl::Status count = ValidateTagCount(tags.size());
  if (!count.ok()) return count;
  return tags;
}

absl::StatusOr<std::string> ParseCreateBucketConfiguration(absl::string_view xml) {
  if (absl::StripAsciiWhitespace(xml).empty()) return std::string();
  pugi::xml_document doc;
  absl::StatusOr<pugi::xml_node> root = Load(doc, xml, "CreateBucketConfiguration");
  if (!root.ok()) return root.status();
  for (pugi::xml_node child : root->children()) {
    if (LocalName(child) == "LocationConstraint") return Text(child);
  }
  return std::string();
}

}  // namespace cfs::s3
