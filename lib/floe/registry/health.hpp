// A registry's health check (Client::ping): TCP and TLS (the certificate's expiry, and what is
// wrong with it), the /v2/ answer and its API version, authentication with the configured
// credentials, the referrers API, and the median round trip. The decisions are plain functions
// over values, tested without sockets; check_health() does the I/O.
#pragma once

#include "floe/core/ping_result.hpp"
#include "floe/http/tls_probe.hpp"
#include "floe/registry/registry.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace floe::registry {

struct HealthCheck {
    std::string repository;       // asked about referrers; "": the answer stays "unknown"
    bool verify_tls = true;       // false: certificate problems are reported, not failures
    bool plain_http = false;      // no TLS to check
    bool has_credentials = false; // the keychain has some for this registry
    int latency_samples = 5;
};

// Runs the checks in order and stops at the first that fails; what it finds is the result, not
// an exception (cancellation still throws).
Task<PingResult> check_health(Registry& registry, http::Client& client, const HealthCheck& what);

// "certificate expired on 2020-01-01; not trusted ..." or nothing for a good certificate.
std::optional<std::string> certificate_problem(const http::TlsFacts& facts, std::string_view host);
// A warning for a certificate that expires within two weeks of `now`, else "".
std::string expiry_warning(std::chrono::system_clock::time_point not_after,
                           std::chrono::system_clock::time_point now);
// Why a /v2/ answer is not a healthy registry's (5xx, or not the registry API), or nothing.
std::optional<std::string> v2_problem(int status);
// "token" or "basic": how the registry's challenge asks for credentials.
std::string auth_kind(std::string_view www_authenticate);
// The referrers endpoint's answer: 200 with an index is support; a 404 or 405 without the
// spec's error body means the route is not there; the rest (an unknown repository, 401, 403,
// 5xx) proves nothing.
ReferrersSupport referrers_support(int status, std::string_view content_type,
                                   std::string_view body);
// The middle sample (the mean of the two middle ones for an even count); 0 for none.
std::chrono::microseconds median(std::vector<std::chrono::microseconds> samples);

} // namespace floe::registry
