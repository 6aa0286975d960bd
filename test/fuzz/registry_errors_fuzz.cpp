// Fuzzes the distribution-spec error body parser floe::registry::parse_error_body with the raw
// body, and classify_status over what it returns.
//
// Invariants (abort on violation):
//  - parse_error_body never throws (anything that is not {"errors":[...]} gives an empty list);
//  - classify_status never answers Errc::ok, and follows its table: the first error code it
//    knows decides, whatever the status; otherwise the status does.
#include "fuzz_check.hpp"

#include "floe/registry/errors.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

using floe::Errc;
using floe_fuzz::printable;

namespace {

std::optional<Errc> by_code(const std::string& c) {
    if (c == "DIGEST_INVALID" || c == "SIZE_INVALID")
        return Errc::verification_failed;
    if (c == "NAME_UNKNOWN" || c == "MANIFEST_UNKNOWN" || c == "BLOB_UNKNOWN")
        return Errc::not_found;
    if (c == "UNAUTHORIZED")
        return Errc::unauthorized;
    if (c == "DENIED")
        return Errc::denied;
    if (c == "NAME_INVALID" || c == "TAG_INVALID")
        return Errc::invalid_reference;
    if (c == "MANIFEST_INVALID" || c == "MANIFEST_BLOB_UNKNOWN")
        return Errc::protocol;
    if (c == "UNSUPPORTED")
        return Errc::unsupported;
    return std::nullopt;
}

Errc by_status(int status) {
    switch (status) {
    case 401:
        return Errc::unauthorized;
    case 403:
        return Errc::denied;
    case 404:
        return Errc::not_found;
    case 413:
        return Errc::too_large;
    case 415:
        return Errc::unsupported;
    default:
        return status >= 500 || status == 429 ? Errc::registry : Errc::protocol;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    auto errors = floe::registry::parse_error_body(body);
    FUZZ_CHECK(errors.size() <= size, "more errors than bytes");

    std::optional<Errc> decided;
    for (auto& e : errors)
        if (!decided)
            decided = by_code(e.code);
    // A status from the body's first bytes too, so odd statuses get tried.
    int fuzzed = size >= 2 ? (data[0] << 8 | data[1]) - 1000 : 0;
    for (int status : {0, 200, 202, 206, 400, 401, 403, 404, 405, 413, 415, 416, 429, 500, 502,
                       503, 599, 600, -1, fuzzed}) {
        auto got = floe::registry::classify_status(status, errors);
        FUZZ_CHECK(got != Errc::ok, "status " + std::to_string(status));
        auto want = decided ? *decided : by_status(status);
        FUZZ_CHECK(got == want, "status " + std::to_string(status) + " body '" + printable(body) +
                                    "': got " + std::to_string(int(got)) + " want " +
                                    std::to_string(int(want)));
    }
    return 0;
}
