// OptionReader for samplers and pruners: the support one, under the search namespace.
#pragma once

#include "chop/support/option_reader.h"

namespace chop::search {
using chop::OptionReader;
}  // namespace chop::search
