// Result<T>: a value of type T, or the Status that explains why there is none.
//
// Used wherever a function can fail and also produce something, so that errors are values and
// never exceptions at a boundary. Accessing value() of an error Result is a programming error and
// aborts. Thread-safety: a plain value type.
#pragma once

#include <cstdlib>
#include <utility>
#include <variant>

#include "arbor/status.h"

namespace arbor {

template <typename T>
class Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design, like std::expected
  Result(Status error) : v_(std::move(error)) {  // NOLINT
    if (std::get<Status>(v_).ok()) std::abort();  // an OK status carries no value
  }

  bool ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return ok(); }

  T& value() & { return checked(); }
  const T& value() const& { return const_cast<Result*>(this)->checked(); }
  T&& value() && { return std::move(checked()); }
  T* operator->() { return &checked(); }
  const T* operator->() const { return &const_cast<Result*>(this)->checked(); }
  T& operator*() { return checked(); }
  const T& operator*() const { return const_cast<Result*>(this)->checked(); }

  // The error; Status::Ok() when the result holds a value.
  Status status() const { return ok() ? Status::Ok() : std::get<Status>(v_); }

 private:
  T& checked() {
    if (!ok()) std::abort();
    return std::get<T>(v_);
  }
  std::variant<T, Status> v_;
};

}  // namespace arbor
