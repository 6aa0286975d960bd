// Turns a registry's 401 into an Authorization header: Basic from the credential store, or a
// Bearer token from the registry's token service, cached per origin and scope set until it
// expires. It never sends anything to an origin the challenge did not come from, except the
// token realm the registry named (and never downgraded to plain http).
#pragma once

#include "floe/auth/credentials.hpp"
#include "floe/http/client.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace floe::auth {

class Authenticator {
  public:
    Authenticator(http::Client& client, std::shared_ptr<const CredentialStore> credentials);

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
    };
    struct Token {
        std::string value;
        std::chrono::steady_clock::time_point expires;
    };

    Task<Token> fetch_token(const std::string& registry, const OriginState& state,
                            const std::vector<std::string>& scopes);
    std::optional<Credentials> credentials_for(const std::string& registry) const;

    http::Client& client_;
    std::shared_ptr<const CredentialStore> credentials_;
    std::map<std::string, OriginState> origins_;
    std::map<std::string, Token> tokens_; // origin + " " + scopes
};

std::string basic_authorization(std::string_view user, std::string_view password);

} // namespace floe::auth
