#include "floe/http/url.hpp"

#include "floe/core/printable.hpp"

#include "floe/core/error.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url.hpp>

#include <cctype>

namespace floe::http {
namespace {

// `bad`: the error for a URL floe cannot use (invalid_argument for the user's, protocol for one a
// registry sent).
Url from_boost(const boost::urls::url_view& u, std::string_view text, Errc bad) {
    Url out;
    out.scheme = std::string(u.scheme());
    if (out.scheme != "http" && out.scheme != "https")
        fail(bad, "unsupported URL scheme in '" + printable(text.substr(0, 100)) + "'");
    if (u.has_userinfo())
        fail(bad, "URLs with embedded credentials are refused");
    if (u.host_type() == boost::urls::host_type::ipvfuture)
        fail(bad, "unsupported host in '" + printable(text.substr(0, 100)) + "'");
    out.host = u.host_type() == boost::urls::host_type::ipv6 ? std::string(u.encoded_host_address())
                                                             : std::string(u.encoded_host());
    if (out.host.empty())
        fail(bad, "URL without a host: '" + printable(text.substr(0, 100)) + "'");
    // "http://h:/x" (an empty port) and "http://h:1p" (Boost.URL 1.81 reads a path without its
    // '/') make requests no server expects: refused.
    if (u.has_port() && u.port().empty())
        fail(bad, "URL with an empty port: '" + printable(text.substr(0, 100)) + "'");
    if (!u.encoded_path().empty() && u.encoded_path().front() != '/')
        fail(bad, "malformed URL '" + printable(text.substr(0, 100)) + "'");
    out.port = u.has_port() ? std::string(u.port()) : (out.scheme == "https" ? "443" : "80");
    out.target = std::string(u.encoded_path());
    if (out.target.empty())
        out.target.push_back('/'); // (not = "/": GCC 12 -Wrestrict false positive)
    if (u.has_query())
        out.target.append("?").append(u.encoded_query());
    return out;
}

} // namespace

Url Url::parse(std::string_view text) {
    auto r = boost::urls::parse_absolute_uri(text);
    if (!r)
        fail(Errc::invalid_argument, "malformed URL '" + printable(text.substr(0, 100)) + "'");
    return from_boost(*r, text, Errc::invalid_argument);
}

Url Url::resolve(std::string_view location) const {
    const std::string self = str(); // the parsed view points into this string
    auto base = boost::urls::parse_absolute_uri(self);
    auto ref = boost::urls::parse_uri_reference(location);
    if (!base || !ref)
        fail(Errc::protocol,
             "the registry sent a malformed Location '" + printable(location.substr(0, 100)) + "'");
    boost::urls::url dest;
    auto rv = boost::urls::resolve(*base, *ref, dest);
    if (!rv)
        fail(Errc::protocol,
             "cannot resolve Location '" + printable(location.substr(0, 100)) + "'");
    return from_boost(dest, location, Errc::protocol);
}

Url Url::follow(std::string_view location) const {
    auto next = resolve(location);
    if (is_https() && !next.is_https())
        fail(Errc::protocol, "the registry sent a plain-http location (" + redact(next) +
                                 ") from an https one; refusing to follow it");
    return next;
}

std::string Url::origin() const {
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return scheme + "://" + h + ":" + port;
}

std::string Url::host_header() const {
    bool default_port = (scheme == "https" && port == "443") || (scheme == "http" && port == "80");
    std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
    return default_port ? h : h + ":" + port;
}

std::string Url::str() const {
    return scheme + "://" + host_header() + target;
}

void Url::add_query(std::string_view name, std::string_view value) {
    target += target.find('?') == std::string::npos ? '?' : '&';
    target += std::string(name) + "=" + percent_encode(value);
}

bool is_loopback_host(std::string_view host) {
    if (host == "localhost" || host == "::1")
        return true;
    // 127.x.y.z as a dotted quad only: "127.example.com" is a name anyone can register.
    if (!host.starts_with("127."))
        return false;
    int parts = 0;
    std::size_t start = 0;
    while (start <= host.size()) {
        auto dot = host.find('.', start);
        auto part = host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
        if (part.empty() || part.size() > 3)
            return false;
        int value = 0;
        for (char c : part) {
            if (!std::isdigit(static_cast<unsigned char>(c)))
                return false;
            value = value * 10 + (c - '0');
        }
        if (value > 255)
            return false;
        ++parts;
        if (dot == std::string_view::npos)
            break;
        start = dot + 1;
    }
    return parts == 4;
}

std::string percent_encode(std::string_view s) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 15]);
        }
    }
    return out;
}

std::string redact(const Url& url) {
    auto q = url.target.find('?');
    if (q == std::string::npos)
        return url.str();
    return url.scheme + "://" + url.host_header() + url.target.substr(0, q) + "?" +
           redact_query(std::string_view(url.target).substr(q + 1));
}

} // namespace floe::http
