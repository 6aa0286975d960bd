// Sizes as people write them on a command line: "50M", "800K", "1G", "1048576" (binary units).
#pragma once

#include <cstdint>
#include <string_view>

namespace floe {

// `what` names the value in the error ("--limit-rate"). Throws Error(invalid_argument) for
// anything but a positive whole number with an optional K, M or G.
std::uint64_t parse_byte_size(std::string_view text, std::string_view what);

} // namespace floe
