// Fuzzes the WWW-Authenticate parser floe::auth::parse_challenges, the scope merge fed by what it
// returns, and the token-service JSON parser parse_token_answer, all with the same raw input.
//
// Invariants (abort on violation):
//  - parse_challenges never throws; every challenge has a non-empty lowercase token scheme, every
//    parameter name is a non-empty lowercase token; there are no more challenges than bytes;
//  - merge_scopes of the challenges' scopes is sorted by resource (the text before the last
//    ':'), has one entry per resource, and merging its own output again (either side) gives the
//    same list;
//  - parse_token_answer either throws floe::Error(protocol) or returns a non-empty token and a
//    positive expires_in.
#include "fuzz_check.hpp"

#include "floe/auth/challenge.hpp"
#include "floe/core/error.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using floe_fuzz::printable;

namespace {

bool is_lower_token(std::string_view s) {
    if (s.empty())
        return false;
    for (char c : s) {
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  std::string_view("!#$%&'*+-.^_`|~/").find(c) != std::string_view::npos;
        if (!ok)
            return false;
    }
    return true;
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (auto& s : v)
        out += "[" + printable(s) + "]";
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    auto challenges = floe::auth::parse_challenges(text);
    FUZZ_CHECK(challenges.size() <= size, "more challenges than bytes");
    std::vector<std::string> scopes;
    for (auto& ch : challenges) {
        FUZZ_CHECK(is_lower_token(ch.scheme),
                   "scheme '" + printable(ch.scheme) + "' from '" + printable(text) + "'");
        for (auto& [name, value] : ch.params)
            FUZZ_CHECK(is_lower_token(name),
                       "parameter '" + printable(name) + "' from '" + printable(text) + "'");
        if (auto s = ch.param("scope"); !s.empty())
            scopes.push_back(s);
        (void)ch.param("realm");
    }

    auto merged = floe::auth::merge_scopes(scopes, {});
    // Sorted and unique by resource (the text before the last ':'): a stable cache key.
    std::vector<std::string> resources;
    for (auto& m : merged) {
        auto colon = m.rfind(':');
        FUZZ_CHECK(colon != std::string::npos, "no ':' in " + joined(merged));
        resources.push_back(m.substr(0, colon));
    }
    FUZZ_CHECK(std::is_sorted(resources.begin(), resources.end()), joined(merged));
    FUZZ_CHECK(std::adjacent_find(resources.begin(), resources.end()) == resources.end(),
               joined(merged));
    auto again = floe::auth::merge_scopes({}, merged);
    FUZZ_CHECK(again == merged,
               "merge is not idempotent: " + joined(merged) + " then " + joined(again));
    FUZZ_CHECK(floe::auth::merge_scopes(merged, merged) == merged, joined(merged));

    try {
        auto answer = floe::auth::parse_token_answer(text);
        FUZZ_CHECK(!answer.token.empty(), "an empty token was accepted");
        FUZZ_CHECK(answer.expires_in > 0, "expires_in " + std::to_string(answer.expires_in));
    } catch (const floe::Error& e) {
        FUZZ_CHECK(e.errc() == floe::Errc::protocol,
                   "parse_token_answer threw another kind: " + std::string(e.what()));
    }
    return 0;
}
