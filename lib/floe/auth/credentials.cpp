#include "floe/auth/credentials.hpp"

#include <cstdlib>

namespace floe {

std::optional<Credentials> EnvCredentials::lookup(std::string_view) const {
    auto get = [](const char* name) {
        const char* v = std::getenv(name);
        return v ? std::string(v) : std::string();
    };
    Credentials c{get("FLOE_REGISTRY_USERNAME"),
                  get("FLOE_REGISTRY_PASSWORD"),
                  {},
                  get("FLOE_REGISTRY_TOKEN")};
    if (c.username.empty() && c.password.empty() && c.registry_token.empty())
        return std::nullopt;
    return c;
}

} // namespace floe
