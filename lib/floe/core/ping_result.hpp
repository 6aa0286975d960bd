// What a health check found about one registry (Client::ping, `floe registry ping`). Plain
// values: no Asio, no Beast, nothing secret.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace floe {

// In order of severity: a list of results is as bad as its worst one.
enum class PingStatus {
    healthy,
    unhealthy,    // answered, but 5xx, or not a registry (no /v2/ API)
    unauthorized, // credentials missing or refused (a token refused included)
    tls,          // TLS failed: certificate expired, not yet valid, untrusted, for another name
    unreachable,  // no connection: name lookup, refused, timed out
};

std::string_view to_string(PingStatus status);

// What the referrers API (GET /v2/<repository>/referrers/<digest>) answered.
enum class ReferrersSupport {
    unknown,     // no repository to ask about, or an answer that proves nothing (401, 403, ...)
    supported,   // 200 with an image index
    unsupported, // 404/405 from a registry that does not route the endpoint
};

std::string_view to_string(ReferrersSupport support);

struct PingResult {
    std::string registry;   // host[:port] as checked
    std::string repository; // the repository the referrers check asked about; "" for none
    PingStatus status = PingStatus::healthy;
    // One line: why the status is not healthy, or a warning for a healthy one (a certificate
    // about to expire). Registry-sent text in it is already made printable.
    std::string reason;
    std::string scheme; // "https" or "http"; "" when no connection was made
    // The server certificate's notAfter (UTC), when a certificate was seen.
    std::optional<std::chrono::system_clock::time_point> certificate_expires;
    int v2_status = 0;       // GET /v2/ without credentials; 0: no answer
    std::string api_version; // its Docker-Distribution-API-Version header (untrusted, raw)
    // "anonymous" (no credentials asked), "basic", "token" (accepted; a token was obtained),
    // "refused", "missing" (asked for, none configured), or "" (not checked).
    std::string auth;
    ReferrersSupport referrers = ReferrersSupport::unknown;
    // The median round trip of 5 GET /v2/ on one kept-alive connection.
    std::optional<std::chrono::microseconds> latency;
};

// The worst status of the results (healthy for none).
PingStatus worst_status(const std::vector<PingResult>& results);

} // namespace floe
