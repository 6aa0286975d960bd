#include "floe/auth/authenticator.hpp"

#include "floe/auth/challenge.hpp"
#include "floe/core/base64.hpp"
#include "floe/core/error.hpp"
#include "floe/core/printable.hpp"
#include "floe/target/flight.hpp"

#include <algorithm>

namespace floe::auth {
namespace {

using clock = std::chrono::steady_clock;

std::string cache_key(const http::Url& url, const std::vector<std::string>& scopes) {
    std::string key = url.origin();
    for (auto& s : scopes)
        key += " " + s;
    return key;
}

// The distribution token spec: a token lives at least 60 seconds (older servers send less or
// nothing). It is renewed a tenth of its life early (5 s to 5 min), so it never expires between
// the check and its use; a registry that expires it sooner answers 401 and gets a fresh one.
clock::duration usable_life(std::int64_t expires_in) {
    auto life = std::chrono::seconds(std::clamp<std::int64_t>(expires_in, 60, 86400));
    auto margin =
        std::clamp<clock::duration>(life / 10, std::chrono::seconds(5), std::chrono::minutes(5));
    return life - margin;
}

} // namespace

bool may_send_credentials(const http::Url& registry, const http::Url& realm) {
    if (realm.scheme == "https" || http::is_loopback_host(realm.host))
        return true;
    // Plain http to the registry's own host: the user chose plain http for that host.
    return realm.host == registry.host;
}

std::string basic_authorization(std::string_view user, std::string_view password) {
    return "Basic " + base64_encode(std::string(user) + ":" + std::string(password));
}

std::string repository_of(const std::vector<std::string>& scopes) {
    for (auto& s : scopes) {
        if (!s.starts_with("repository:"))
            continue;
        auto name = std::string_view(s).substr(11);
        auto colon = name.rfind(':');
        return std::string(name.substr(0, colon));
    }
    return {};
}

Authenticator::Authenticator(http::Transport& wire, std::shared_ptr<Keychain> keychain)
    : wire_(wire), keychain_(std::make_shared<CachingKeychain>(std::move(keychain))) {}

std::optional<Credentials>
Authenticator::known_credentials(const std::string& registry,
                                 const std::vector<std::string>& scopes) const {
    auto hit = keychain_->known(registry, repository_of(scopes));
    return hit ? *hit : std::nullopt;
}

Task<std::optional<Credentials>>
Authenticator::credentials_for(const std::string& registry,
                               const std::vector<std::string>& scopes) {
    auto creds = co_await keychain_->resolve(registry, repository_of(scopes));
    if (creds) { // whatever echoes them back (an error body, a redirect) never shows them
        remember_secret(creds->password);
        remember_secret(creds->identity_token);
        remember_secret(creds->registry_token);
        if (!creds->username.empty())
            remember_secret(basic_authorization(creds->username, creds->password).substr(6));
    }
    co_return creds;
}

std::optional<Authenticator::Token> Authenticator::valid_token(const std::string& key) const {
    auto tok = tokens_.find(key);
    if (tok == tokens_.end() || tok->second.expires <= clock::now())
        return std::nullopt;
    return tok->second;
}

std::optional<std::string> Authenticator::cached(const std::string& registry, const http::Url& url,
                                                 const std::vector<std::string>& scopes) {
    // Only after the origin challenged once: Basic credentials are never sent unasked.
    auto it = origins_.find(url.origin());
    if (it == origins_.end())
        return std::nullopt;
    auto creds = known_credentials(registry, scopes);
    if (it->second.scheme == "basic") {
        if (creds && !creds->username.empty())
            return basic_authorization(creds->username, creds->password);
        return std::nullopt;
    }
    if (creds && !creds->registry_token.empty())
        return "Bearer " + creds->registry_token; // a token given to us is used as it is
    if (auto tok = valid_token(cache_key(url, merge_scopes(scopes, {}))))
        return "Bearer " + tok->value;
    return std::nullopt;
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
    if (!bearer && !basic)
        co_return std::nullopt;
    // Copies: the response (and its parsed challenges) may not outlive the awaits below.
    std::optional<Challenge> bearer_challenge, basic_challenge;
    if (bearer)
        bearer_challenge = *bearer;
    if (basic)
        basic_challenge = *basic;
    auto creds = co_await credentials_for(registry, scopes);

    if (bearer_challenge) {
        OriginState state{"bearer", bearer_challenge->param("realm"),
                          bearer_challenge->param("service")};
        if (state.realm.empty())
            fail(Errc::protocol, "registry " + registry + " asked for a token without a realm");
        auto realm = url.follow(state.realm); // http(s) only, no downgrade from https
        state.realm = realm.str();
        // Credentials go to the registry's own token service, reached through its challenge,
        // and not in clear text to another host: such a realm is asked anonymously.
        state.send_credentials = may_send_credentials(url, realm);
        origins_[url.origin()] = state;
        std::vector<std::string> challenge_scopes;
        if (auto s = bearer_challenge->param("scope"); !s.empty())
            challenge_scopes.push_back(s);
        auto wanted = merge_scopes(scopes, challenge_scopes);
        if (creds && !creds->registry_token.empty()) {
            std::string value = "Bearer " + creds->registry_token;
            if (sent == value)
                co_return std::nullopt; // the token we were given was refused
            co_return value;
        }
        auto key = cache_key(url, wanted);
        // Another request may be fetching the same token right now: wait for it.
        while (fetching_.contains(key)) {
            auto flight = fetching_[key];
            co_await flight->wait();
        }
        auto token = valid_token(key);
        if (!token || (sent && *sent == "Bearer " + token->value)) {
            auto flight = std::make_shared<Flight>();
            fetching_[key] = flight;
            struct Landing {
                Authenticator* self;
                std::string key;
                std::shared_ptr<Flight> flight;
                ~Landing() {
                    self->fetching_.erase(key);
                    flight->land();
                }
            } landing{this, key, flight};
            // A named value: GCC mishandles temporaries that live across a co_await.
            std::optional<Credentials> offered;
            if (state.send_credentials)
                offered = creds;
            token = co_await fetch_token(registry, state, wanted, offered);
            tokens_[key] = *token;
            if (wanted != merge_scopes(scopes, {})) // also answer later lookups by our scopes
                tokens_[cache_key(url, merge_scopes(scopes, {}))] = *token;
        }
        std::string value = "Bearer " + token->value;
        if (sent == value)
            co_return std::nullopt;
        co_return value;
    }
    origins_[url.origin()] = OriginState{"basic", {}, {}};
    if (!creds || creds->username.empty())
        co_return std::nullopt;
    auto value = basic_authorization(creds->username, creds->password);
    if (sent == value)
        co_return std::nullopt;
    co_return value;
}

Task<Authenticator::Token> Authenticator::fetch_token(const std::string& registry,
                                                      const OriginState& state,
                                                      const std::vector<std::string>& scopes,
                                                      const std::optional<Credentials>& creds) {
    http::Request req;
    req.url = http::Url::parse(state.realm);
    // A refresh token the service handed out earlier stands in for the password (the
    // password then crosses the wire once per process, not once per token).
    std::string refresh;
    if (creds && !creds->identity_token.empty())
        refresh = creds->identity_token;
    else if (auto it = refresh_tokens_.find(state.realm + " " + state.service);
             it != refresh_tokens_.end() && creds)
        refresh = it->second;
    if (!refresh.empty()) {
        // OAuth2 refresh-token grant (docker's identity tokens).
        req.method = "POST";
        req.headers.set("Content-Type", "application/x-www-form-urlencoded");
        std::string scope_list;
        for (auto& s : scopes)
            scope_list += (scope_list.empty() ? "" : " ") + s;
        req.body = "grant_type=refresh_token&client_id=floe&service=" +
                   http::percent_encode(state.service) +
                   "&scope=" + http::percent_encode(scope_list) +
                   "&refresh_token=" + http::percent_encode(refresh);
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
    http::Call call{[&] { return req; }, scopes};
    auto resp = co_await wire_.send(call);
    if ((resp.status == 400 || resp.status == 401) && !refresh.empty() &&
        refresh != creds->identity_token) {
        // Our remembered refresh token was revoked or expired: back to the credentials.
        co_await resp.discard();
        refresh_tokens_.erase(state.realm + " " + state.service);
        co_return co_await fetch_token(registry, state, scopes, creds);
    }
    if (resp.status == 401 || resp.status == 403) {
        co_await resp.discard();
        fail(Errc::unauthorized,
             "the token service of " + registry +
                 (creds ? " refused the credentials" : " requires credentials"),
             {resp.status, {}, http::redact(resp.url)});
    }
    if (resp.status != 200) {
        co_await resp.discard();
        fail(Errc::registry,
             "the token service of " + registry + " answered HTTP " + std::to_string(resp.status),
             {resp.status, {}, http::redact(resp.url)});
    }
    auto answer = parse_token_answer(co_await resp.read_all(256 * 1024));
    remember_secret(answer.token);
    remember_secret(answer.refresh_token);
    if (!answer.refresh_token.empty() && creds)
        refresh_tokens_[state.realm + " " + state.service] = answer.refresh_token;
    co_return Token{answer.token, started + usable_life(answer.expires_in)};
}

} // namespace floe::auth
