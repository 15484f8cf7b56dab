#include "lib/quota/quota.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace cfs::quota {

absl::string_view QuotaKindName(QuotaKind kind) {
  switch (kind) {
    case QuotaKind::kUser:
      return "user";
    case QuotaKind::kGroup:
      return "group";
    case QuotaKind::kExport:
      return "export";
    case QuotaKind::kBucket:
      return "bucket";
  }
  return "unknown";
}

absl::StatusOr<QuotaKind> ParseQuotaKind(absl::string_view text) {
  for (QuotaKind kind :
       {QuotaKind::kUser, QuotaKind::kGroup, QuotaKind::kExport, QuotaKind::kBucket}) {
    if (text == QuotaKindName(kind)) return kind;
  }
  return absl::InvalidArgumentError(
      absl::StrCat("quota kind '", text, "' is not one of user, group, export, bucket"));
}

std::string QuotaSubject::ToString() const { return absl::StrCat(QuotaKindName(kind), ":", name); }

absl::Status ValidateQuotaSetting(const QuotaSetting& setting) {
  const QuotaSubject& s = setting.subject;
  if (s.name.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("quota of a ", QuotaKindName(s.kind), ": the subject has no name"));
  }
  if (s.kind == QuotaKind::kUser || s.kind == QuotaKind::kGroup) {
    uint32_t id = 0;
    if (!absl::SimpleAtoi(s.name, &id)) {
      return absl::InvalidArgumentError(absl::StrCat("quota ", s.ToString(), ": a ",
                                                     QuotaKindName(s.kind),
                                                     " quota names a numeric id (0-4294967295)"));
    }
  }
  const QuotaLimits& l = setting.limits;
  if (l.hard_bytes != 0 && l.soft_bytes > l.hard_bytes) {
    return absl::InvalidArgumentError(absl::StrCat("quota ", s.ToString(), ": soft_bytes ",
                                                   l.soft_bytes, " is above hard_bytes ",
                                                   l.hard_bytes));
  }
  if (l.hard_inodes != 0 && l.soft_inodes > l.hard_inodes) {
    return absl::InvalidArgumentError(absl::StrCat("quota ", s.ToString(), ": soft_inodes ",
                                                   l.soft_inodes, " is above hard_inodes ",
                                                   l.hard_inodes));
  }
  return absl::OkStatus();
}

}  // namespace cfs::quota
