#include "floe/core/byte_size.hpp"

#include "floe/core/error.hpp"

#include <charconv>
#include <string>

namespace floe {

std::uint64_t parse_byte_size(std::string_view text, std::string_view what) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::uint64_t scale = 1;
    if (unit == "K" || unit == "k" || unit == "KiB")
        scale = 1024;
    else if (unit == "M" || unit == "m" || unit == "MiB")
        scale = 1024 * 1024;
    else if (unit == "G" || unit == "g" || unit == "GiB")
        scale = 1024 * 1024 * 1024;
    else if (!unit.empty() && unit != "B")
        ec = std::errc::invalid_argument;
    if (ec != std::errc() || value == 0)
        fail(Errc::invalid_argument, std::string(what) + " '" + std::string(text) +
                                         "' is not a positive size (examples: 800K, 50M, 1G)");
    // 2^53 bytes (8 PiB) is beyond any sensible size, and keeps the value exact as a double
    // (the rate limiter's arithmetic) instead of wrapping round to something small.
    constexpr std::uint64_t largest = std::uint64_t{1} << 53;
    if (value > largest / scale)
        fail(Errc::invalid_argument,
             std::string(what) + " '" + std::string(text) + "' is too large (at most 8 PiB)");
    return value * scale;
}

} // namespace floe
