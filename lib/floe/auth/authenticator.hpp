// Turns a registry's 401 into an Authorization header: Basic from the keychain, or a Bearer
// token from the registry's token service, cached per origin and scope set until it expires.
// Concurrent token fetches for one scope set are merged into one. It never sends anything to an
// origin the challenge did not come from, except the token realm the registry named (and never
// downgraded to plain http). One Authenticator serves one registry.
#pragma once

#include "floe/auth/keychain.hpp"
#include "floe/http/transport.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace floe::auth {

class Authenticator {
  public:
    // `wire`: the bottom of the transport stack (token requests are observed like the rest).
    Authenticator(http::Transport& wire, std::shared_ptr<Keychain> keychain);

    // The Authorization value to send to `url` for `scopes`, when one is already known.
    std::optional<std::string> cached(const std::string& registry, const http::Url& url,
                                      const std::vector<std::string>& scopes);

    // Learns from a 401 answer and obtains credentials for a retry. Returns the Authorization
    // value to retry with, or nothing when a retry cannot help (no credentials, or the ones
    // we have were just refused).
    Task<std::optional<std::string>> on_unauthorized(const std::string& registry,
                                                     const http::Url& url,
                                                     const http::Response& response,
                                                     const std::vector<std::string>& scopes,
                                                     const std::optional<std::string>& sent);

  private:
    struct OriginState {
        std::string scheme; // "basic" or "bearer"
        std::string realm;
        std::string service;
        bool send_credentials = true; // the realm may see the registry's credentials
    };
    struct Token {
        std::string value;
        std::chrono::steady_clock::time_point expires;
    };

    Task<std::optional<Credentials>> credentials_for(const std::string& registry,
                                                     const std::vector<std::string>& scopes);
    std::optional<Credentials> known_credentials(const std::string& registry,
                                                 const std::vector<std::string>& scopes) const;
    Task<Token> fetch_token(const std::string& registry, const OriginState& state,
                            const std::vector<std::string>& scopes,
                            const std::optional<Credentials>& creds);
    std::optional<Token> valid_token(const std::string& key) const;

    http::Transport& wire_;
    std::shared_ptr<CachingKeychain> keychain_;
    std::map<std::string, OriginState> origins_;
    std::map<std::string, Token> tokens_; // origin + " " + scopes
    std::map<std::string, std::shared_ptr<Flight>> fetching_;
    std::map<std::string, std::string> refresh_tokens_; // realm + " " + service
};

// Whether credentials for the registry at `registry` may go to its token service at `realm`:
// over https, to a loopback service, or to the registry's own host (over the plain http the
// user chose for it); never in clear text to another host.
bool may_send_credentials(const http::Url& registry, const http::Url& realm);

std::string basic_authorization(std::string_view user, std::string_view password);

// The repository named by the first "repository:<name>:<actions>" scope, or "".
std::string repository_of(const std::vector<std::string>& scopes);

} // namespace floe::auth
