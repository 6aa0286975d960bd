#include "floe/registry/upload_policy.hpp"

#include <charconv>

namespace floe::registry {

std::uint64_t effective_chunk_size(std::uint64_t requested,
                                   std::optional<std::string_view> min_length_header) {
    std::uint64_t min = 0;
    if (min_length_header) {
        auto v = *min_length_header;
        std::from_chars(v.data(), v.data() + v.size(), min);
    }
    if (requested == 0)
        return 0;
    return std::max(requested, min);
}

std::optional<std::uint64_t> bytes_received(std::optional<std::string_view> range_header) {
    if (!range_header || range_header->empty())
        return 0;
    auto v = *range_header;
    if (v.starts_with("bytes="))
        v.remove_prefix(6);
    auto dash = v.find('-');
    if (dash == std::string_view::npos)
        return std::nullopt;
    std::uint64_t start = 0, end = 0;
    auto a = std::from_chars(v.data(), v.data() + dash, start);
    auto b = std::from_chars(v.data() + dash + 1, v.data() + v.size(), end);
    if (a.ec != std::errc() || b.ec != std::errc() || a.ptr != v.data() + dash ||
        b.ptr != v.data() + v.size() || start != 0 || end < start)
        return std::nullopt;
    // Distribution answers "0-0" for an empty session as well as for one byte; an empty
    // session is the safer reading (re-sending one byte costs nothing, skipping one corrupts).
    return end == 0 ? 0 : end + 1;
}

} // namespace floe::registry
