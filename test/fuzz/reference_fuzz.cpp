// Fuzzes floe::Reference::parse, is_valid_tag and is_valid_repository with the raw input.
//
// Invariants (abort on violation):
//  - parse either returns or throws floe::Error(invalid_reference); nothing else escapes;
//  - a parsed registry reference has a registry, a repository that is_valid_repository accepts, a
//    tag that is empty or is_valid_tag, no layout path; a layout reference has a path only;
//  - str() parses back to an equal Reference, and str() of that is the same text;
//  - is_valid_tag and is_valid_repository agree with independent oracles written from the
//    grammar in reference.hpp (a hand loop for tags, std::regex for repositories).
#include "fuzz_check.hpp"

#include "floe/core/error.hpp"
#include "floe/core/reference.hpp"

#include <cstddef>
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>

using floe_fuzz::printable;

namespace {

// [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}
bool oracle_tag(std::string_view t) {
    auto word = [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '_';
    };
    if (t.empty() || t.size() > 128 || !word(t[0]))
        return false;
    for (char c : t)
        if (!word(c) && c != '.' && c != '-')
            return false;
    return true;
}

// Components [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* joined by '/', at most 255 characters.
bool oracle_repository(std::string_view name) {
    static const std::regex re(
        R"(^[a-z0-9]+(?:(?:\.|__|_|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:\.|__|_|-+)[a-z0-9]+)*)*$)",
        std::regex::ECMAScript | std::regex::optimize);
    if (name.empty() || name.size() > 255)
        return false;
    return std::regex_match(name.begin(), name.end(), re);
}

std::string describe(const floe::Reference& r) {
    return std::string(r.is_layout() ? "layout" : "registry") + " registry='" +
           printable(r.registry) + "' repository='" + printable(r.repository) + "' path='" +
           printable(r.path) + "' tag='" + printable(r.tag) + "' digest='" +
           (r.digest ? r.digest->str() : std::string("-")) + "'";
}

bool same(const floe::Reference& a, const floe::Reference& b) {
    return a.kind == b.kind && a.registry == b.registry && a.repository == b.repository &&
           a.path == b.path && a.tag == b.tag && a.digest == b.digest;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    FUZZ_CHECK(floe::is_valid_tag(text) == oracle_tag(text),
               "is_valid_tag disagrees with the grammar for '" + printable(text) + "'");
    if (size <= 300) // std::regex recurses per character: keep the oracle to sensible sizes
        FUZZ_CHECK(floe::is_valid_repository(text) == oracle_repository(text),
                   "is_valid_repository disagrees with the grammar for '" + printable(text) + "'");
    else
        FUZZ_CHECK(!floe::is_valid_repository(text), "a repository name over 255 characters");

    floe::Reference ref;
    try {
        ref = floe::Reference::parse(text);
    } catch (const floe::Error& e) {
        FUZZ_CHECK(e.errc() == floe::Errc::invalid_reference,
                   "parse threw another error kind: " + std::string(e.what()));
        return 0;
    }

    if (ref.is_layout()) {
        FUZZ_CHECK(!ref.path.empty() && ref.registry.empty() && ref.repository.empty(),
                   describe(ref));
    } else {
        FUZZ_CHECK(ref.path.empty() && !ref.registry.empty(), describe(ref));
        FUZZ_CHECK(floe::is_valid_repository(ref.repository), describe(ref));
        FUZZ_CHECK(ref.registry != "index.docker.io" && ref.registry != "registry-1.docker.io",
                   describe(ref));
        FUZZ_CHECK(!ref.api_host().empty(), describe(ref));
    }
    FUZZ_CHECK(ref.tag.empty() || floe::is_valid_tag(ref.tag), describe(ref));
    if (ref.digest)
        FUZZ_CHECK(floe::Digest::is_valid(ref.digest->str()), describe(ref));
    auto sel = ref.selector();
    FUZZ_CHECK(!sel.empty(), describe(ref));

    const std::string canonical = ref.str();
    floe::Reference again;
    try {
        again = floe::Reference::parse(canonical);
    } catch (const floe::Error& e) {
        FUZZ_CHECK(false, "str() of a parsed reference does not parse: input '" + printable(text) +
                              "' str '" + printable(canonical) + "': " + e.what());
    }
    FUZZ_CHECK(same(ref, again), "round trip changed the reference: input '" + printable(text) +
                                     "'\n     first:  " + describe(ref) +
                                     "\n     second: " + describe(again));
    FUZZ_CHECK(again.str() == canonical, "str() is not stable: '" + printable(canonical) +
                                             "' then '" + printable(again.str()) + "'");
    return 0;
}
