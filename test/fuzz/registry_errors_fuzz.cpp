// Fuzzes the distribution-spec error body parser floe::registry::parse_error_body with the raw
// body, and classify_status over what it returns.
//
// Invariants (abort on violation):
//  - parse_error_body never throws (anything that is not {"errors":[...]} gives an empty list);
//  - classify_status never answers Errc::ok, and either an error code decides (the same answer
//    for every status) or the status does (the same answer as for a body without errors).
#include "fuzz_check.hpp"

#include "floe/registry/errors.hpp"

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

using floe::Errc;
using floe_fuzz::printable;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view body(reinterpret_cast<const char*>(data), size);
    auto errors = floe::registry::parse_error_body(body);
    FUZZ_CHECK(errors.size() <= size, "more errors than bytes");

    // A status from the body's first bytes too, so odd statuses get tried.
    int fuzzed = size >= 2 ? (data[0] << 8 | data[1]) - 1000 : 0;
    // The shape of the rule, without restating its table: either an error code decides (the
    // answer is the same whatever the status), or the status alone does (the same answer as
    // for a body without errors).
    bool status_decides = true, code_decides = true;
    std::optional<Errc> first;
    for (int status : {0,   200, 202, 206, 400, 401, 403, 404, 405, 413,
                       415, 416, 429, 500, 502, 503, 599, 600, -1,  fuzzed}) {
        auto got = floe::registry::classify_status(status, errors);
        FUZZ_CHECK(got != Errc::ok, "status " + std::to_string(status));
        status_decides = status_decides && got == floe::registry::classify_status(status, {});
        if (!first)
            first = got;
        code_decides = code_decides && got == *first;
    }
    FUZZ_CHECK(status_decides || code_decides,
               "neither the status nor an error code decides for body '" + printable(body) + "'");
    return 0;
}
