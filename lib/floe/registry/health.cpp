#include "floe/registry/health.hpp"

#include "floe/auth/challenge.hpp"
#include "floe/core/media_types.hpp"
#include "floe/core/printable.hpp"
#include "floe/http/transport.hpp"
#include "floe/http/url.hpp"
#include "floe/registry/errors.hpp"

#include <algorithm>

namespace floe::registry {

namespace {

using std::chrono::microseconds;

// The referrers of a digest nothing refers to: the answer says whether the route exists
// without listing anything large. (The sha256 of zero bytes.)
constexpr std::string_view nothing_digest =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

http::Call get(Registry& registry, std::string target, std::vector<std::string> scopes = {}) {
    http::Call call;
    call.make = [&registry, target = std::move(target)] {
        http::Request r;
        r.url = registry.endpoint(target);
        return r;
    };
    call.scopes = std::move(scopes);
    return call;
}

PingStatus status_for(const Error& e) {
    switch (e.errc()) {
    case Errc::network:
        return e.diagnostics().tls ? PingStatus::tls : PingStatus::unreachable;
    case Errc::unauthorized:
    case Errc::denied:
        return PingStatus::unauthorized;
    default:
        return PingStatus::unhealthy;
    }
}

void failed(PingResult& r, PingStatus status, std::string reason) {
    r.status = status;
    r.reason = printable(reason);
}

// False when the check ends here (no connection, or a certificate this client refuses).
Task<bool> check_tls(http::Client& client, const HealthCheck& what, PingResult& r) {
    if (what.plain_http)
        co_return true;
    auto url = http::Url::parse("https://" + r.registry + "/v2/");
    http::TlsFacts facts;
    try {
        facts = co_await client.inspect_tls(url);
    } catch (const Error& e) {
        failed(r, status_for(e), e.what());
    }
    co_await http::throw_if_cancelled();
    if (r.status != PingStatus::healthy)
        co_return false;
    r.certificate_expires = facts.not_after;
    // No certificate at all: a loopback registry may speak plain http, as Registry allows.
    if (!facts.certificate_seen && http::is_loopback_host(url.host))
        co_return true;
    auto problem = certificate_problem(facts, url.host);
    if (problem && what.verify_tls) {
        failed(r, PingStatus::tls, *problem);
        co_return false;
    }
    if (!facts.handshake_done) {
        failed(r, PingStatus::tls,
               "TLS handshake with " + r.registry + " failed: " + facts.handshake_error);
        co_return false;
    }
    if (problem)
        r.reason = printable(*problem + " (tls_verify is off, so it is accepted)");
    else if (facts.not_after)
        r.reason = expiry_warning(*facts.not_after, std::chrono::system_clock::now());
    co_return true;
}

// GET /v2/ without credentials, `samples` times on one kept-alive connection: the answer, its
// API version and challenge, and the median round trip.
Task<bool> check_v2(Registry& registry, const HealthCheck& what, PingResult& r,
                    std::string& challenge) {
    std::vector<microseconds> samples;
    try {
        for (int i = 0; i < std::max(what.latency_samples, 1); ++i) {
            auto call = get(registry, "/v2/");
            auto start = std::chrono::steady_clock::now();
            auto resp = co_await registry.send_anonymously(call);
            if (i == 0) {
                r.v2_status = resp.status;
                r.api_version = resp.headers.get("Docker-Distribution-API-Version").value_or("");
                challenge = resp.headers.get("WWW-Authenticate").value_or("");
            }
            co_await resp.discard();
            samples.push_back(
                std::chrono::duration_cast<microseconds>(std::chrono::steady_clock::now() - start));
        }
    } catch (const Error& e) {
        failed(r, status_for(e), e.what());
    }
    co_await http::throw_if_cancelled();
    r.scheme = registry.scheme();
    if (!samples.empty())
        r.latency = median(samples);
    if (r.status != PingStatus::healthy)
        co_return false;
    if (auto problem = v2_problem(r.v2_status)) {
        failed(r, PingStatus::unhealthy, registry.host() + ": " + *problem);
        co_return false;
    }
    co_return true;
}

// GET /v2/ through the authentication layer, with the configured credentials.
Task<bool> check_auth(Registry& registry, const HealthCheck& what, PingResult& r,
                      const std::string& challenge) {
    if (r.v2_status != 401) {
        r.auth = "anonymous";
        co_return true;
    }
    int status = 0;
    try {
        auto call = get(registry, "/v2/");
        auto resp = co_await registry.send(call);
        status = resp.status;
        co_await resp.discard();
    } catch (const Error& e) {
        failed(r, status_for(e), e.what());
        if (r.status == PingStatus::unauthorized)
            r.auth = "refused";
    }
    co_await http::throw_if_cancelled();
    if (r.status != PingStatus::healthy)
        co_return false;
    if (status == 200) {
        r.auth = auth_kind(challenge);
        co_return true;
    }
    if (status == 401) {
        r.auth = what.has_credentials ? "refused" : "missing";
        failed(r, PingStatus::unauthorized,
               what.has_credentials
                   ? "registry " + registry.host() + " refused the credentials"
                   : "registry " + registry.host() + " asks for credentials and none were found");
        co_return false;
    }
    failed(r, PingStatus::unhealthy,
           "/v2/ with credentials answered HTTP " + std::to_string(status));
    co_return false;
}

Task<void> check_referrers(Registry& registry, const HealthCheck& what, PingResult& r) {
    if (what.repository.empty())
        co_return;
    try {
        auto target = "/v2/" + what.repository + "/referrers/" + std::string(nothing_digest);
        auto call = get(registry, target, {auth::repository_scope(what.repository, false)});
        auto resp = co_await registry.send(call);
        auto type = resp.headers.get("Content-Type").value_or("");
        auto status = resp.status;
        auto body = co_await resp.read_all(256 * 1024);
        r.referrers = referrers_support(status, type, body);
    } catch (const Error&) {
        r.referrers = ReferrersSupport::unknown; // proves nothing about the registry's health
    }
    co_await http::throw_if_cancelled();
}

} // namespace

Task<PingResult> check_health(Registry& registry, http::Client& client, const HealthCheck& what) {
    PingResult r;
    r.registry = registry.host();
    r.repository = what.repository;
    std::string challenge;
    if (!co_await check_tls(client, what, r))
        co_return r;
    if (!co_await check_v2(registry, what, r, challenge))
        co_return r;
    if (!co_await check_auth(registry, what, r, challenge))
        co_return r;
    co_await check_referrers(registry, what, r);
    co_return r;
}

std::optional<std::string> certificate_problem(const http::TlsFacts& facts, std::string_view host) {
    std::vector<std::string> found;
    auto date = facts.not_after ? http::utc_date(*facts.not_after) : std::string("?");
    if (facts.expired)
        found.push_back("certificate expired on " + date);
    if (facts.not_yet_valid)
        found.push_back("certificate not valid yet");
    if (facts.untrusted)
        found.push_back("certificate not trusted (no chain to a trusted CA; give the registry's "
                        "CA with --ca-file or ca_file)");
    if (facts.name_mismatch)
        found.push_back("certificate not issued for " + std::string(host));
    if (!facts.other.empty())
        found.push_back("certificate rejected: " + facts.other);
    if (found.empty())
        return std::nullopt;
    std::string out = found[0];
    for (std::size_t i = 1; i < found.size(); ++i)
        out += "; " + found[i];
    return out;
}

std::string expiry_warning(std::chrono::system_clock::time_point not_after,
                           std::chrono::system_clock::time_point now) {
    auto left = std::chrono::duration_cast<std::chrono::hours>(not_after - now).count() / 24;
    if (left >= 14)
        return {};
    left = std::max<decltype(left)>(left, 0);
    return "certificate expires on " + http::utc_date(not_after) + " (in " + std::to_string(left) +
           (left == 1 ? " day)" : " days)");
}

std::optional<std::string> v2_problem(int status) {
    if (status == 200 || status == 401)
        return std::nullopt;
    if (status >= 500)
        return "/v2/ answered HTTP " + std::to_string(status) + " (the registry is failing)";
    return "not a registry: /v2/ answered HTTP " + std::to_string(status);
}

std::string auth_kind(std::string_view www_authenticate) {
    for (auto& c : auth::parse_challenges(www_authenticate))
        if (c.scheme == "bearer")
            return "token";
    return "basic";
}

ReferrersSupport referrers_support(int status, std::string_view content_type,
                                   std::string_view body) {
    if (status == 200 && content_type.starts_with(media_type::oci_index))
        return ReferrersSupport::supported;
    if ((status == 404 || status == 405) && parse_error_body(body).empty())
        return ReferrersSupport::unsupported;
    return ReferrersSupport::unknown;
}

microseconds median(std::vector<microseconds> samples) {
    if (samples.empty())
        return microseconds{0};
    std::sort(samples.begin(), samples.end());
    auto mid = samples.size() / 2;
    if (samples.size() % 2 == 1)
        return samples[mid];
    return (samples[mid - 1] + samples[mid]) / 2;
}

} // namespace floe::registry
