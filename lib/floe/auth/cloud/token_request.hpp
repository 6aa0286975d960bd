// What the Google and Azure sources share: one token request to a configured endpoint (observed
// like every request, never redirected, its answer read whole under a cap), the rule for where a
// secret may be sent, and the OAuth2 error code of a refusal. Header-only: small, and used by
// gcr.cpp and acr.cpp alone.
#pragma once

#include "floe/auth/source.hpp"
#include "floe/core/error.hpp"
#include "floe/core/printable.hpp"
#include "floe/http/client.hpp"
#include "floe/http/transport.hpp"

#include <simdjson.h>

#include <algorithm>
#include <cctype>
#include <cstdint>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

namespace floe::auth::cloud {

inline std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

inline std::string lowercase(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

// A registry name lowercase and without the default https port; "" when another port is named
// (a different service, even on a cloud provider's host).
inline std::string bare_host(std::string_view registry) {
    auto host = lowercase(registry);
    if (auto colon = host.find(':'); colon != std::string::npos) {
        if (host.substr(colon) != ":443")
            return {};
        host.resize(colon);
    }
    return host;
}

// An endpoint that may receive a secret: https, or plain http to this machine (tests).
inline bool may_carry_secret(const http::Url& url) {
    return url.is_https() || http::is_loopback_host(url.host);
}

// The JSON string member `name`, or "" when absent or not a string.
inline std::string string_member(simdjson::dom::object& obj, const char* name) {
    std::string_view s;
    if (obj[name].get(s) != simdjson::SUCCESS)
        return {};
    return std::string(s);
}

// The short OAuth2 error code ("invalid_grant") of an error answer; "" if there is none that is
// safe to show (codes are short lowercase words; anything else may be remote junk).
inline std::string oauth_error(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(json.data(), json.size()).get(obj) != simdjson::SUCCESS)
        return {};
    auto code = string_member(obj, "error");
    bool word = !code.empty() && code.size() <= 64 &&
                std::all_of(code.begin(), code.end(), [](unsigned char c) {
                    return std::islower(c) || std::isdigit(c) || c == '_';
                });
    return word ? code : std::string();
}

// A local file that configures a source (a key, a federated token): read whole, capped.
inline std::string read_small_file(const std::string& path, const std::string& what) {
    std::ifstream in(path, std::ios::binary);
    if (!in)
        fail(Errc::io, "cannot read " + what + " " + printable(path));
    std::string text(256 * 1024, '\0');
    in.read(text.data(), static_cast<std::streamsize>(text.size()));
    if (in.gcount() == static_cast<std::streamsize>(text.size()))
        fail(Errc::too_large, what + " " + printable(path) + " is too large");
    text.resize(static_cast<std::size_t>(in.gcount()));
    return text;
}

// The source's own HTTP client, created on first use (a keychain may be built without ever
// being asked), with the source's timeout. It must outlive the responses it gave.
inline http::Client& client_for(std::unique_ptr<http::Client>& client,
                                const SourceContext& context) {
    if (!client) {
        http::ClientOptions options;
        options.connect_timeout = context.timeout;
        options.io_timeout = context.timeout;
        client = std::make_unique<http::Client>(context.executor, options);
    }
    return *client;
}

// How long (seconds) an access token that expires in `expires_in` may be handed out again: it
// must outlast the registry's own token exchange, so it is renewed up to 5 minutes early (half
// its life for short ones). 0 (do not keep it) when the answer did not say.
inline std::int64_t reuse_for(std::int64_t expires_in) {
    if (expires_in <= 0)
        return 0;
    return expires_in - std::min<std::int64_t>(300, expires_in / 2);
}

struct Reply {
    int status = 0;
    std::string body;
    std::string url; // redacted
};

// Sends one token request and reads the whole answer (network failures throw Error(network)).
inline Task<Reply> send_token_request(http::Client& client, const SourceContext& context,
                                      http::Request request) {
    request.max_body = 256 * 1024;
    request.follow_redirects = false; // a secret goes where it was configured to, or nowhere
    http::HttpTransport wire(client, context.observer);
    http::Call call{[&] { return request; }, {}};
    auto resp = co_await wire.send(call);
    auto body = co_await resp.read_all(256 * 1024);
    co_return Reply{resp.status, std::move(body), http::redact(resp.url)};
}

// An answer other than 200 as an Error: `who` ("ACR (managed identity): the endpoint") answered
// HTTP N, with the OAuth2 error code when there is one; never the body itself.
[[noreturn]] inline void refused(const std::string& who, const Reply& reply) {
    auto code = oauth_error(reply.body);
    fail(reply.status >= 500 ? Errc::registry : Errc::unauthorized,
         who + " answered HTTP " + std::to_string(reply.status) +
             (code.empty() ? "" : " (" + code + ")"),
         {reply.status, {}, reply.url});
}

} // namespace floe::auth::cloud
