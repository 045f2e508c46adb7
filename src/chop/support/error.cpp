// Internal-error reporting for CHOP_ASSERT.
#include "chop/support/error.h"

namespace chop {

void throw_internal(const char* file, int line, const char* cond, const std::string& msg) {
  throw InternalError(fmt::format("internal error (this is a bug in chop) at {}:{}: {} failed: {}",
                                  file, line, cond, msg));
}

}  // namespace chop
