// Where the authentication layer gets credentials: an asynchronous keychain, asked for a
// registry and a repository. A source may do I/O (a credential helper process, a cloud token
// service), so answers are cached per registry+repository with an expiry, and concurrent asks
// for the same key are merged into one.
#pragma once

#include "floe/auth/credentials.hpp"
#include "floe/target/target.hpp"

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace floe {
struct Flight;
}

namespace floe::auth {

class Keychain {
  public:
    virtual ~Keychain() = default;
    // Credentials for `repository` on `registry` (host[:port]), or nullopt for anonymous.
    virtual Task<std::optional<Credentials>> resolve(std::string_view registry,
                                                     std::string_view repository) = 0;
};

// A synchronous CredentialStore (the public, Asio-free interface) as a keychain.
class StoreKeychain final : public Keychain {
  public:
    explicit StoreKeychain(std::shared_ptr<const CredentialStore> store)
        : store_(std::move(store)) {}
    Task<std::optional<Credentials>> resolve(std::string_view registry, std::string_view) override {
        co_return store_ ? store_->lookup(registry) : std::nullopt;
    }

  private:
    std::shared_ptr<const CredentialStore> store_;
};

// Remembers another keychain's answers for `ttl` and merges concurrent asks for one key.
class CachingKeychain final : public Keychain {
  public:
    explicit CachingKeychain(std::shared_ptr<Keychain> inner,
                             std::chrono::seconds ttl = std::chrono::minutes(10))
        : inner_(std::move(inner)), ttl_(ttl) {}
    Task<std::optional<Credentials>> resolve(std::string_view registry,
                                             std::string_view repository) override;
    // The answer already known for the key, without I/O.
    std::optional<std::optional<Credentials>> known(std::string_view registry,
                                                    std::string_view repository) const;

  private:
    struct Entry {
        std::optional<Credentials> value;
        std::chrono::steady_clock::time_point expires;
    };
    std::shared_ptr<Keychain> inner_;
    std::chrono::seconds ttl_;
    std::map<std::string, Entry> entries_;
    std::map<std::string, std::shared_ptr<Flight>> in_flight_;
};

} // namespace floe::auth
