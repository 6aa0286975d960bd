// Absolute http(s) URLs: parsing, resolving a Location against a base, and redaction for logs.
#pragma once

#include <string>
#include <string_view>

namespace floe::http {

struct Url {
    std::string scheme; // "http" or "https"
    std::string host;   // without brackets for IPv6
    std::string port;   // always set: "443", "80" or explicit
    std::string target; // path and query, starts with '/'

    // Throws Error(invalid_argument) for anything but an absolute http(s) URL.
    static Url parse(std::string_view text);
    // A Location header value (absolute, or relative to this URL) as an absolute URL; a scheme
    // other than http(s) is Errc::protocol.
    Url resolve(std::string_view location) const;
    // The one check for every URL a registry hands back (redirects, upload Locations, token
    // realms, Link pages): resolve() plus no downgrade from https to plain http.
    Url follow(std::string_view location) const;

    bool is_https() const { return scheme == "https"; }
    // "https://host:port": credentials are only ever sent back to the same origin.
    std::string origin() const;
    std::string str() const;
    // The host as written in a Host header ("host" or "host:port" for non-default ports).
    std::string host_header() const;
    // Adds "name=value" to the query, percent-encoding the value.
    void add_query(std::string_view name, std::string_view value);
};

// Loopback hosts may use plain HTTP without asking: 127.0.0.0/8, ::1, localhost.
bool is_loopback_host(std::string_view host);

std::string percent_encode(std::string_view s);

// The URL for a log or an error message: signed query strings and session state removed.
std::string redact(const Url& url);

} // namespace floe::http
