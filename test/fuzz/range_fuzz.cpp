// Fuzzes the header parsers of upload_policy.hpp with the raw header value: parse_content_range
// (a 206's Content-Range), bytes_received (an upload session's Range) and effective_chunk_size
// (OCI-Chunk-Min-Length).
//
// Invariants (abort on violation):
//  - none of them throws;
//  - a parsed Content-Range has first <= last, came from text starting "bytes ", and
//    "bytes <first>-<last>/<total or *>" parses back to the same values;
//  - bytes_received of an absent or empty header is 0; a non-zero answer n is what
//    "0-<n-1>" (and "bytes=0-<n-1>") reads as, i.e. the header named a range starting at 0;
//  - effective_chunk_size is 0 exactly when 0 was asked for, and never below what was asked.
#include "fuzz_check.hpp"

#include "floe/registry/upload_policy.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

using floe_fuzz::printable;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace floe::registry;
    std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto r = parse_content_range(text)) {
        FUZZ_CHECK(text.starts_with("bytes "), printable(text));
        FUZZ_CHECK(r->first <= r->last, printable(text));
        std::string again = "bytes " + std::to_string(r->first) + "-" + std::to_string(r->last) +
                            "/" + (r->total ? std::to_string(*r->total) : std::string("*"));
        auto r2 = parse_content_range(again);
        FUZZ_CHECK(r2 && r2->first == r->first && r2->last == r->last && r2->total == r->total,
                   "'" + printable(text) + "' reformatted as '" + again + "' reads differently");
    }

    static const bool constants_hold = [] {
        FUZZ_CHECK(bytes_received(std::nullopt) == std::optional<std::uint64_t>(0), "absent");
        FUZZ_CHECK(bytes_received(std::string_view()) == std::optional<std::uint64_t>(0), "empty");
        return true;
    }();
    (void)constants_hold;

    auto held = bytes_received(text);
    if (held && *held > 0) {
        std::string plain = "0-" + std::to_string(*held - 1);
        FUZZ_CHECK(bytes_received(plain) == held, "'" + printable(text) + "' read as " +
                                                      std::to_string(*held) + " but '" + plain +
                                                      "' reads differently");
        FUZZ_CHECK(bytes_received("bytes=" + plain) == held, plain);
    }

    for (std::uint64_t asked :
         {std::uint64_t(0), std::uint64_t(1), std::uint64_t(5) << 20, ~std::uint64_t(0)}) {
        auto chunk = effective_chunk_size(asked, text);
        FUZZ_CHECK((chunk == 0) == (asked == 0) && chunk >= asked,
                   "asked " + std::to_string(asked) + " got " + std::to_string(chunk) +
                       " for min '" + printable(text) + "'");
    }
    return 0;
}
