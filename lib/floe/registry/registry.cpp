#include "floe/registry/registry.hpp"

#include "floe/registry/errors.hpp"

namespace floe::registry {

Registry::Registry(http::Client& client, auth::Authenticator& auth, std::string host,
                   RegistryOptions options)
    : client_(client), auth_(auth), host_(std::move(host)), options_(options) {}

http::Url Registry::endpoint(std::string_view target) const {
    return http::Url::parse(scheme_ + "://" + host_ + std::string(target));
}

// https everywhere, except: --plain-http, or a loopback registry that does not speak TLS (the
// common local test setup), found by trying https first.
Task<void> Registry::choose_scheme() {
    if (!scheme_.empty())
        co_return;
    if (options_.plain_http) {
        scheme_ = "http";
        co_return;
    }
    auto hostname = http::Url::parse("https://" + host_).host;
    if (!http::is_loopback_host(hostname)) {
        scheme_ = "https";
        co_return;
    }
    std::optional<Error> tls_error;
    try {
        http::Request ping;
        ping.url = http::Url::parse("https://" + host_ + "/v2/");
        auto resp = co_await client_.send(std::move(ping));
        co_await resp.discard();
        scheme_ = "https";
        co_return;
    } catch (const Error& e) {
        // Only a TLS failure means "maybe plain http"; refused connections stay errors.
        if (e.errc() != Errc::network || !e.diagnostics().tls)
            throw;
        tls_error = e;
    }
    // A TLS server answers plain http with 400: then the TLS error is the one to report.
    int status = 0;
    std::optional<std::string> retry_after;
    try {
        http::Request ping;
        ping.url = http::Url::parse("http://" + host_ + "/v2/");
        auto resp = co_await client_.send(std::move(ping));
        status = resp.status;
        retry_after = resp.headers.get("Retry-After");
        co_await resp.discard();
    } catch (const Error&) {
    }
    if (status == 0 || status == 400)
        throw *tls_error;
    if (is_retryable_status(status)) { // busy: it said so, so wait before the real request
        co_await sleep_for(retry_delay(1, retry_after));
    }
    scheme_ = "http";
}

Task<http::Response> Registry::send(std::function<http::Request()> make,
                                    const std::vector<std::string>& scopes, bool idempotent) {
    co_await choose_scheme();
    std::optional<std::string> authz;
    bool auth_retried = false;
    for (int attempt = 1;; ++attempt) {
        http::Request req = make();
        auto url = req.url;
        if (!authz && url.origin() == endpoint("/").origin())
            authz = auth_.cached(host_, url, scopes);
        if (authz)
            req.headers.set("Authorization", *authz);
        http::Response resp;
        bool lost = false;
        try {
            resp = co_await client_.send(std::move(req));
        } catch (const Error& e) {
            if (e.errc() != Errc::network || !idempotent || attempt >= options_.max_attempts)
                throw;
            lost = true;
        }
        if (lost) { // co_await is not allowed inside the handler
            co_await sleep_for(retry_delay(attempt, std::nullopt));
            continue;
        }
        if (resp.status == 401 && !auth_retried) {
            auth_retried = true;
            auto next = co_await auth_.on_unauthorized(host_, url, resp, scopes, authz);
            if (next) {
                co_await resp.discard();
                authz = std::move(next);
                --attempt; // authenticating is not a failed attempt
                continue;
            }
        }
        if (idempotent && is_retryable_status(resp.status) && attempt < options_.max_attempts) {
            auto delay = retry_delay(attempt, resp.headers.get("Retry-After"));
            co_await resp.discard();
            co_await sleep_for(delay);
            continue;
        }
        co_return resp;
    }
}

Task<Error> Registry::error_for(http::Response& response, std::string what) {
    std::string body;
    try {
        body = co_await response.read_all(64 * 1024);
    } catch (const Error&) {
        // the status alone has to do
    }
    auto errors = parse_error_body(body);
    auto code = classify_status(response.status, errors);
    std::string msg = what + ": HTTP " + std::to_string(response.status);
    Diagnostics diag{response.status, {}, http::redact(response.url)};
    for (auto& e : errors) {
        diag.registry_codes.push_back(e.code);
        if (&e == &errors.front())
            msg += " " + e.code + (e.message.empty() ? "" : " (" + e.message + ")");
    }
    switch (code) {
    case Errc::unauthorized:
        msg += "; check FLOE_REGISTRY_USERNAME and FLOE_REGISTRY_PASSWORD (or FLOE_REGISTRY_TOKEN)";
        break;
    case Errc::denied:
        msg += "; the credentials do not grant this access";
        break;
    default:
        break;
    }
    co_return Error(code, msg, std::move(diag));
}

} // namespace floe::registry
