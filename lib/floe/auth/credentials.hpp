// Where credentials come from. A CredentialStore answers for one registry host; stores chain,
// first hit wins. Today: explicit values and FLOE_REGISTRY_* environment variables; docker
// config.json, credential helpers and cloud providers plug in here later.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace floe {

struct Credentials {
    std::string username;
    std::string password;
    std::string identity_token; // OAuth2 refresh token for the registry's token service
    std::string registry_token; // a bearer token used as it is
};

class CredentialStore {
  public:
    virtual ~CredentialStore() = default;
    virtual std::optional<Credentials> lookup(std::string_view registry) const = 0;
};

// The same credentials for every registry (the library caller's explicit choice).
class StaticCredentials final : public CredentialStore {
  public:
    explicit StaticCredentials(Credentials c) : c_(std::move(c)) {}
    std::optional<Credentials> lookup(std::string_view) const override { return c_; }

  private:
    Credentials c_;
};

// FLOE_REGISTRY_USERNAME, FLOE_REGISTRY_PASSWORD, FLOE_REGISTRY_TOKEN.
class EnvCredentials final : public CredentialStore {
  public:
    std::optional<Credentials> lookup(std::string_view registry) const override;
};

class CredentialChain final : public CredentialStore {
  public:
    void add(std::shared_ptr<const CredentialStore> store) { stores_.push_back(std::move(store)); }
    std::optional<Credentials> lookup(std::string_view registry) const override {
        for (auto& s : stores_)
            if (auto c = s->lookup(registry))
                return c;
        return std::nullopt;
    }

  private:
    std::vector<std::shared_ptr<const CredentialStore>> stores_;
};

} // namespace floe
