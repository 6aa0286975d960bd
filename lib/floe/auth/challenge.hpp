// WWW-Authenticate challenges (RFC 7235) and the token-service answers of the distribution
// token-auth spec. Pure functions over strings: tested without sockets.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace floe::auth {

struct Challenge {
    std::string scheme;                        // lowercase: "basic", "bearer"
    std::map<std::string, std::string> params; // names lowercase: "realm", "service", "scope"
    std::string param(const std::string& name) const {
        auto it = params.find(name);
        return it == params.end() ? std::string() : it->second;
    }
};

// All challenges in one header value, e.g.
//   Bearer realm="https://auth.example/token",service="registry",scope="repository:a:pull"
std::vector<Challenge> parse_challenges(std::string_view header);

// "repository:<name>:pull" / "repository:<name>:pull,push".
std::string repository_scope(std::string_view repository, bool push);

// Scope strings merged: same resource's actions unioned, the result sorted (a stable cache key).
std::vector<std::string> merge_scopes(const std::vector<std::string>& a,
                                      const std::vector<std::string>& b);

struct TokenAnswer {
    std::string token;
    std::string refresh_token;
    std::int64_t expires_in = 60; // the spec's default when absent
};

// Parses the token service's JSON ("token" or "access_token"); throws Error(protocol).
TokenAnswer parse_token_answer(std::string_view json);

} // namespace floe::auth
