#include "floe/registry/registry.hpp"

#include "floe/core/printable.hpp"
#include "floe/registry/errors.hpp"

#include <algorithm>

namespace floe::registry {

Registry::Registry(http::Client& client, std::string host, RegistryOptions options)
    : client_(client), host_(std::move(host)), options_(std::move(options)),
      wire_(client_, options_.observer), auth_(wire_, options_.keychain),
      signed_(wire_, auth_, host_, [this] { return endpoint("/").origin(); }),
      guarded_(signed_, options_.breaker ? options_.breaker
                                         : std::make_shared<http::CircuitBreaker>(
                                               host_, CircuitBreakerSettings{.enabled = false})),
      retrying_(guarded_, options_.retry), probing_(wire_, guarded_.breaker()) {}

http::Url Registry::endpoint(std::string_view target) const {
    return http::Url::parse(scheme_ + "://" + host_ + std::string(target));
}

// https everywhere, except: --plain-http, or a loopback registry that does not speak TLS (the
// common local test setup), found by trying https first. The probes go through the observed
// bottom of the stack (so -v shows them); the plain-http one is retried like any request.
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
    auto probe = [this](const char* scheme) {
        http::Call call;
        call.make = [this, scheme] {
            http::Request r;
            r.url = http::Url::parse(std::string(scheme) + "://" + host_ + "/v2/");
            return r;
        };
        return call;
    };
    std::optional<Error> tls_error;
    try {
        auto call = probe("https");
        auto resp = co_await probing_.send(call);
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
    http::RetryBudget budget(options_.retry);
    while (true) {
        std::optional<Error> lost;
        int status = 0;
        std::optional<std::string> retry_after;
        try {
            auto call = probe("http");
            call.attempt = budget.attempt();
            auto resp = co_await probing_.send(call);
            status = resp.status;
            retry_after = resp.headers.get("Retry-After");
            co_await resp.discard();
        } catch (const Error& e) {
            if (e.errc() != Errc::network)
                throw;
            lost = e;
        }
        if (status == 400)
            throw *tls_error;
        if (status != 0 && !http::is_retryable_status(status)) {
            scheme_ = "http";
            co_return;
        }
        co_await http::throw_if_cancelled();
        if (!budget.allow_another()) {
            if (status != 0) { // busy for good: let the real request meet it
                scheme_ = "http";
                co_return;
            }
            // Neither spoke: say what each attempt met, in one line.
            fail(Errc::network, "cannot reach " + host_ + " over https (" + tls_error->what() +
                                    ") nor over plain http (" + lost->what() + ")");
        }
        co_await sleep_for(budget.next_delay(retry_after));
    }
}

Task<http::Response> Registry::send(http::Call& call) {
    co_await choose_scheme();
    co_return co_await retrying_.send(call);
}

Task<http::Response> Registry::send_anonymously(http::Call& call) {
    co_await choose_scheme();
    co_return co_await wire_.send(call);
}

Task<Registry::Document> Registry::fetch_document(http::Call& call, std::string what,
                                                  std::size_t cap, int tolerated) {
    http::RetryBudget budget(options_.retry);
    call.budget = &budget;
    while (true) {
        std::optional<Error> lost;
        try {
            auto resp = co_await send(call);
            Document doc{resp.status, resp.headers, resp.url, {}};
            if (tolerated && resp.status == tolerated) {
                co_await resp.discard();
                co_return doc;
            }
            co_await expect(resp, what, 200);
            doc.body = co_await resp.read_all(cap);
            co_return doc;
        } catch (const Error& e) {
            if (!http::is_retryable(e))
                throw;
            lost = e;
        }
        co_await http::throw_if_cancelled();
        if (!budget.allow_another())
            throw *lost;
        co_await sleep_for(budget.next_delay());
    }
}

Task<bool> Registry::check_credentials() {
    auto ping = [this] {
        http::Call call;
        call.make = [this] {
            http::Request r;
            r.url = endpoint("/v2/");
            return r;
        };
        return call;
    };
    // First without credentials, past the authentication layer: does the registry ask?
    auto anonymous = ping();
    auto first = co_await send_anonymously(anonymous);
    auto asked = first.status == 401;
    co_await first.discard();
    if (!asked)
        co_return false;
    auto call = ping();
    auto resp = co_await send(call);
    if (resp.status == 401) {
        co_await resp.discard();
        fail(Errc::unauthorized, "registry " + host_ + " refused these credentials",
             {401, {}, http::redact(resp.url)});
    }
    co_await expect(resp, "registry " + host_, 200);
    co_await resp.discard();
    co_return true;
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
