// Fuzzes floe::http::Url::parse, Url::resolve, redact, add_query and percent_encode.
// Input: "<base URL>\n<Location value>" (no newline: the whole input is both).
//
// Invariants (abort on violation):
//  - parse and resolve either return or throw floe::Error; what they return has scheme http or
//    https, a non-empty host, a port that is set and numeric ("always set" says url.hpp), and a
//    target starting with '/';
//  - str() of a parsed or resolved URL parses again to the same Url (resolve() depends on it);
//  - redact() keeps exactly what url.cpp promises: scheme, host, port and path as str() writes
//    them, then the query split on '&' (a trailing empty pair dropped), each pair whose name is one
//    of digest, mount, from, n, last, service, scope, artifactType kept as written, every other
//    pair written as "<name>=<redacted>" - so no value of X-Amz-Signature, sig, se, token,
//    _state, ... survives. Checked on parsed and resolved URLs, on a URL whose target is raw
//    fuzz bytes, and after add_query("X-Amz-Signature", <fuzz>);
//  - percent_encode writes only unreserved characters and %XX, and decodes back to its input.
#include "fuzz_check.hpp"

#include "floe/core/error.hpp"
#include "floe/http/url.hpp"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

using floe::http::Url;
using floe_fuzz::printable;

namespace {

std::string describe(const Url& u) {
    return "scheme='" + printable(u.scheme) + "' host='" + printable(u.host) + "' port='" +
           printable(u.port) + "' target='" + printable(u.target) + "'";
}

bool same(const Url& a, const Url& b) {
    return a.scheme == b.scheme && a.host == b.host && a.port == b.port && a.target == b.target;
}

void check_url(const Url& u, std::string_view from) {
    auto d = [&] { return describe(u) + " from '" + printable(from) + "'"; };
    FUZZ_CHECK(u.scheme == "http" || u.scheme == "https", d());
    FUZZ_CHECK(!u.host.empty(), d());
    FUZZ_CHECK(!u.port.empty() && std::all_of(u.port.begin(), u.port.end(),
                                              [](char c) { return c >= '0' && c <= '9'; }),
               "port not set: " + d());
    FUZZ_CHECK(!u.target.empty() && u.target.front() == '/', d());
    (void)u.origin();
    (void)floe::http::is_loopback_host(u.host);

    const std::string text = u.str();
    Url again;
    try {
        again = Url::parse(text);
    } catch (const floe::Error& e) {
        FUZZ_CHECK(false,
                   "str() '" + printable(text) + "' does not parse: " + e.what() + "\n     " + d());
    }
    FUZZ_CHECK(same(u, again), "round trip via '" + printable(text) + "' changed " + d() +
                                   " into " + describe(again));
}

// The promise of redact(), written out independently of url.cpp.
void check_redact(const Url& u) {
    static constexpr std::string_view keep[] = {"digest", "mount",   "from",  "n",
                                                "last",   "service", "scope", "artifactType"};
    const std::string out = floe::http::redact(u);
    auto q = u.target.find('?');
    if (q == std::string::npos) {
        FUZZ_CHECK(out == u.str(),
                   "a URL without query changed: " + describe(u) + " -> '" + printable(out) + "'");
        return;
    }
    const std::string prefix = u.scheme + "://" + u.host_header() + u.target.substr(0, q) + "?";
    FUZZ_CHECK(out.starts_with(prefix), describe(u) + " redacted as '" + printable(out) +
                                            "' (want prefix '" + printable(prefix) + "')");

    std::vector<std::string_view> pairs;
    std::string_view query = std::string_view(u.target).substr(q + 1);
    for (std::size_t start = 0;;) {
        auto amp = query.find('&', start);
        pairs.push_back(
            query.substr(start, amp == std::string_view::npos ? query.npos : amp - start));
        if (amp == std::string_view::npos)
            break;
        start = amp + 1;
    }
    if (pairs.back().empty())
        pairs.pop_back();
    std::string want;
    for (auto pair : pairs) {
        if (!want.empty())
            want += '&';
        auto name = pair.substr(0, pair.find('='));
        bool harmless = std::find(std::begin(keep), std::end(keep), name) != std::end(keep);
        want += harmless ? std::string(pair) : std::string(name) + "=<redacted>";
    }
    const std::string_view got = std::string_view(out).substr(prefix.size());
    FUZZ_CHECK(got == want, describe(u) + "\n     redacted query '" + printable(got) +
                                "'\n     promised        '" + printable(want) + "'");
}

void check_percent_encode(std::string_view s) {
    const std::string enc = floe::http::percent_encode(s);
    auto hexval = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'A' && c <= 'F')
            return c - 'A' + 10;
        return -1;
    };
    std::string dec;
    for (std::size_t i = 0; i < enc.size(); ++i) {
        char c = enc[i];
        if (c == '%') {
            FUZZ_CHECK(i + 2 < enc.size(), "truncated escape in '" + printable(enc) + "'");
            FUZZ_CHECK(hexval(enc[i + 1]) >= 0 && hexval(enc[i + 2]) >= 0,
                       "bad escape in '" + printable(enc) + "'");
            dec.push_back(static_cast<char>(hexval(enc[i + 1]) * 16 + hexval(enc[i + 2])));
            i += 2;
            continue;
        }
        bool unreserved = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        FUZZ_CHECK(unreserved, "'" + printable(enc) + "' has a reserved character");
        dec.push_back(c);
    }
    FUZZ_CHECK(dec == s, "percent_encode('" + printable(s) + "') = '" + printable(enc) +
                             "' decodes to '" + printable(dec) + "'");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto nl = text.find('\n');
    std::string_view base_text = nl == std::string_view::npos ? text : text.substr(0, nl);
    std::string_view location = nl == std::string_view::npos ? text : text.substr(nl + 1);

    std::optional<Url> base;
    try {
        base = Url::parse(base_text);
    } catch (const floe::Error& e) {
        FUZZ_CHECK(e.errc() == floe::Errc::invalid_argument,
                   "parse threw another kind: " + std::string(e.what()));
    }
    if (base) {
        check_url(*base, base_text);
        check_redact(*base);
    } else {
        base = Url::parse("https://registry.example.io:5000/v2/team/app/tags/list?n=100");
    }

    try {
        auto r = base->resolve(location);
        check_url(r, location);
        check_redact(r);
    } catch (const floe::Error& e) {
        FUZZ_CHECK(e.errc() == floe::Errc::protocol || e.errc() == floe::Errc::invalid_argument,
                   "resolve threw another kind: " + std::string(e.what()));
    }

    // Any target at all: redact() must keep its promise for URLs built by hand too.
    Url raw = *base;
    raw.target = "/" + std::string(location);
    check_redact(raw);

    Url signed_url = *base;
    signed_url.add_query("X-Amz-Signature", location);
    check_redact(signed_url);

    check_percent_encode(location);
    return 0;
}
