#include "floe/registry/registry.hpp"

#include "floe/core/printable.hpp"
#include "floe/registry/errors.hpp"

#include <algorithm>

namespace floe::registry {

Registry::Registry(http::Client& client, std::string host, RegistryOptions options)
    : client_(client), host_(std::move(host)), options_(std::move(options)),
      wire_(client_, options_.observer), auth_(wire_, options_.keychain),
      signed_(wire_, auth_, host_, [this] { return endpoint("/").origin(); }),
      retrying_(signed_, options_.retry) {}

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
    } catch (const Error& e) {
        if (e.errc() == Errc::cancelled)
            throw;
        // no answer over plain http either: the TLS error is the one to report
    }
    if (status == 0 || status == 400)
        throw *tls_error;
    if (http::is_retryable_status(status)) // busy: it said so, so wait before the real request
        co_await sleep_for(options_.retry.delay(2, retry_after));
    scheme_ = "http";
}

Task<http::Response> Registry::send(http::Call& call) {
    co_await choose_scheme();
    co_return co_await retrying_.send(call);
}

Task<void> Registry::expect(http::Response& response, std::string what, int expected, int also,
                            int or_else) {
    auto status = response.status;
    if (status != 0 && (status == expected || status == also || status == or_else))
        co_return;
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
    diag.retry_after = response.headers.get("Retry-After").value_or("");
    for (auto& e : errors) {
        diag.registry_codes.push_back(e.code);
        if (&e == &errors.front()) // the registry's words: untrusted, kept short and inert
            msg += " " + printable(e.code.substr(0, 64)) +
                   (e.message.empty() ? "" : " (" + printable(e.message.substr(0, 300)) + ")");
    }
    if (code == Errc::denied)
        msg += "; the credentials do not grant this access";
    throw Error(code, msg, std::move(diag));
}

} // namespace floe::registry
