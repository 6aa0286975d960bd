#include "floe/auth/authenticator.hpp"

#include "floe/auth/challenge.hpp"
#include "floe/core/error.hpp"

#include <openssl/evp.h>

namespace floe::auth {
namespace {

using clock = std::chrono::steady_clock;

std::string cache_key(const http::Url& url, const std::vector<std::string>& scopes) {
    std::string key = url.origin();
    for (auto& s : scopes)
        key += " " + s;
    return key;
}

std::string base64(std::string_view in) {
    std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
    int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                            reinterpret_cast<const unsigned char*>(in.data()),
                            static_cast<int>(in.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

} // namespace

std::string basic_authorization(std::string_view user, std::string_view password) {
    return "Basic " + base64(std::string(user) + ":" + std::string(password));
}

Authenticator::Authenticator(http::Client& client, std::shared_ptr<const CredentialStore> creds)
    : client_(client), credentials_(std::move(creds)) {}

std::optional<Credentials> Authenticator::credentials_for(const std::string& registry) const {
    return credentials_ ? credentials_->lookup(registry) : std::nullopt;
}

std::optional<std::string> Authenticator::cached(const std::string& registry, const http::Url& url,
                                                 const std::vector<std::string>& scopes) {
    auto it = origins_.find(url.origin());
    if (it == origins_.end())
        return std::nullopt;
    if (it->second.scheme == "basic") {
        auto c = credentials_for(registry);
        if (c && !c->username.empty())
            return basic_authorization(c->username, c->password);
        return std::nullopt;
    }
    if (auto c = credentials_for(registry); c && !c->registry_token.empty())
        return "Bearer " + c->registry_token; // a token given to us is used as it is
    auto key = cache_key(url, merge_scopes(scopes, {}));
    auto tok = tokens_.find(key);
    if (tok == tokens_.end() || tok->second.expires <= clock::now())
        return std::nullopt;
    return "Bearer " + tok->second.value;
}

Task<std::optional<std::string>> Authenticator::on_unauthorized(
    const std::string& registry, const http::Url& url, const http::Response& response,
    const std::vector<std::string>& scopes, const std::optional<std::string>& sent) {
    auto header = response.headers.get("WWW-Authenticate");
    if (!header)
        co_return std::nullopt;
    auto challenges = parse_challenges(*header);
    const Challenge* bearer = nullptr;
    const Challenge* basic = nullptr;
    for (auto& c : challenges) {
        if (c.scheme == "bearer" && !bearer)
            bearer = &c;
        if (c.scheme == "basic" && !basic)
            basic = &c;
    }
    auto creds = credentials_for(registry);

    if (bearer) {
        OriginState state{"bearer", bearer->param("realm"), bearer->param("service")};
        if (state.realm.empty())
            fail(Errc::protocol, "registry " + registry + " asked for a token without a realm");
        auto realm = http::Url::parse(state.realm);
        if (url.is_https() && !realm.is_https())
            fail(Errc::protocol, "registry " + registry + " sent a token realm over plain http (" +
                                     http::redact(realm) + "); refusing to send credentials there");
        origins_[url.origin()] = state;
        std::vector<std::string> challenge_scopes;
        if (auto s = bearer->param("scope"); !s.empty())
            challenge_scopes.push_back(s);
        auto wanted = merge_scopes(scopes, challenge_scopes);
        if (creds && !creds->registry_token.empty()) {
            std::string value = "Bearer " + creds->registry_token;
            if (sent == value)
                co_return std::nullopt; // the token we were given was refused
            co_return value;
        }
        auto token = co_await fetch_token(registry, state, wanted);
        std::string value = "Bearer " + token.value;
        if (sent == value)
            co_return std::nullopt;
        tokens_[cache_key(url, wanted)] = token;
        if (wanted != merge_scopes(scopes, {})) // also answer later lookups by our own scopes
            tokens_[cache_key(url, merge_scopes(scopes, {}))] = token;
        co_return value;
    }
    if (basic) {
        origins_[url.origin()] = OriginState{"basic", {}, {}};
        if (!creds || creds->username.empty())
            co_return std::nullopt;
        auto value = basic_authorization(creds->username, creds->password);
        if (sent == value)
            co_return std::nullopt;
        co_return value;
    }
    co_return std::nullopt;
}

Task<Authenticator::Token> Authenticator::fetch_token(const std::string& registry,
                                                      const OriginState& state,
                                                      const std::vector<std::string>& scopes) {
    auto creds = credentials_for(registry);
    http::Request req;
    req.url = http::Url::parse(state.realm);
    if (creds && !creds->identity_token.empty()) {
        // OAuth2 refresh-token grant (docker's identity tokens).
        req.method = "POST";
        req.headers.set("Content-Type", "application/x-www-form-urlencoded");
        std::string scope_list;
        for (auto& s : scopes)
            scope_list += (scope_list.empty() ? "" : " ") + s;
        req.body = "grant_type=refresh_token&client_id=floe&service=" +
                   http::percent_encode(state.service) +
                   "&scope=" + http::percent_encode(scope_list) +
                   "&refresh_token=" + http::percent_encode(creds->identity_token);
    } else {
        if (!state.service.empty())
            req.url.add_query("service", state.service);
        for (auto& s : scopes)
            req.url.add_query("scope", s);
        if (creds && !creds->username.empty())
            req.headers.set("Authorization", basic_authorization(creds->username, creds->password));
    }
    req.max_body = 256 * 1024;
    auto started = clock::now();
    auto resp = co_await client_.send(std::move(req));
    if (resp.status == 401 || resp.status == 403) {
        co_await resp.discard();
        fail(Errc::unauthorized,
             "the token service of " + registry + " refused the credentials" +
                 (creds ? " (check FLOE_REGISTRY_USERNAME and FLOE_REGISTRY_PASSWORD)"
                        : " (set FLOE_REGISTRY_USERNAME and FLOE_REGISTRY_PASSWORD)"),
             {resp.status, {}, http::redact(resp.url)});
    }
    if (resp.status != 200) {
        co_await resp.discard();
        fail(Errc::registry,
             "the token service of " + registry + " answered HTTP " + std::to_string(resp.status),
             {resp.status, {}, http::redact(resp.url)});
    }
    auto answer = parse_token_answer(co_await resp.read_all(256 * 1024));
    // Renew a little early so a token never expires between the check and its use.
    auto lifetime = std::chrono::seconds(std::max<std::int64_t>(answer.expires_in - 10, 1));
    co_return Token{answer.token, started + lifetime};
}

} // namespace floe::auth
