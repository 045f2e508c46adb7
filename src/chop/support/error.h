// Errors: what a user can cause (chop::Error subclasses, via CHOP_CHECK) and bugs (CHOP_ASSERT).
#pragma once

#include <fmt/format.h>

#include <stdexcept>
#include <string>

namespace chop {

/// Base of every error a user can cause; `main` prints what() on one line and exits non-zero.
class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class ConfigError : public Error {  ///< bad TOML, flag, key or option value
 public:
  using Error::Error;
};
class GraphError : public Error {  ///< ill-formed graph, unknown node or model, impossible width
 public:
  using Error::Error;
};
class DataError : public Error {  ///< missing, corrupt or inconsistent data or checkpoint file
 public:
  using Error::Error;
};
class SearchError : public Error {  ///< a search that cannot proceed (bad space, bad storage)
 public:
  using Error::Error;
};

/// An internal invariant broke: this is a bug in chop, not the user's fault.
class InternalError : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

[[noreturn]] void throw_internal(const char* file, int line, const char* cond,
                                 const std::string& msg);

}  // namespace chop

/// CHOP_CHECK(cond, ErrorType, "fmt {}", args...): throws ErrorType(message) when cond is false.
#define CHOP_CHECK(cond, ErrorType, ...)              \
  do {                                                \
    if (!(cond)) throw ErrorType(fmt::format(__VA_ARGS__)); \
  } while (0)

/// CHOP_ASSERT(cond, "fmt", args...): an invariant; failure is reported as a bug.
#define CHOP_ASSERT(cond, ...)                                                      \
  do {                                                                              \
    if (!(cond)) ::chop::throw_internal(__FILE__, __LINE__, #cond, fmt::format(__VA_ARGS__)); \
  } while (0)
