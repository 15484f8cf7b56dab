// S3Or<T>: a value or the S3Error to answer instead (what absl::StatusOr is for Status).
#ifndef CFS_LIB_PROTOCOLS_S3_S3_RESULT_H_
#define CFS_LIB_PROTOCOLS_S3_S3_RESULT_H_

#include <optional>
#include <utility>

#include "lib/protocols/s3/s3_error.h"

namespace cfs::s3 {

struct Ok {};

template <typename T>
class S3Or {
 public:
  S3Or(T value) : value_(std::move(value)) {}        // NOLINT: implicit like StatusOr
  S3Or(S3Error error) : error_(std::move(error)) {}  // NOLINT
  bool ok() const { return value_.has_value(); }
  const S3Error& error() const { return error_; }
  T& operator*() & { return *value_; }
  const T& operator*() const& { return *value_; }
  T&& operator*() && { return std::move(*value_); }
  T* operator->() { return &*value_; }
  const T* operator->() const { return &*value_; }

 private:
  std::optional<T> value_;
  S3Error error_;
};

}  // namespace cfs::s3

#endif  // CFS_LIB_PROTOCOLS_S3_S3_RESULT_H_
