// Credentials, and the synchronous store a library caller can hand to the client for a registry
// (RegistrySettings::credentials). The client's own chain (environment for the call's
// reference, pull secret, docker/podman config and credential helpers, ECR/GCR/ACR) is
// asynchronous and internal: lib/floe/auth/.
#pragma once

#include <functional>
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
    // Which source answered ("docker config /home/me/.docker/config.json", "credential helper
    // docker-credential-pass", "ECR (web identity)"): for `floe auth which`, never a secret.
    std::string source;
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

// Which sources may answer for one registry (RegistrySettings::credential_policy), when a
// platform manifest's `auth.type` says so rather than leaving it to the whole chain. Whatever
// the kind, FLOE_REGISTRY_* given for the command's own reference are asked first: an explicit
// setting beats the file.
struct CredentialPolicy {
    enum class Kind {
        any,         // the credentials set for the host, then every source the options turn on
        none,        // anonymous: no file, helper or cloud identity is asked
        only_set,    // only the credentials set for the host (RegistrySettings::credentials)
        pull_secret, // only this registry's own pull secret (`pull_secret`)
        aws,         // only ECR's identity (IRSA, profiles, keys)
        gcp,         // only GCR / Artifact Registry's workload identity
        azure,       // only ACR's managed identity
    };
    Kind kind = Kind::any;
    std::string pull_secret; // Kind::pull_secret: a file or "k8s:NAMESPACE/NAME"
};

// Which of the client's own credential sources are asked, after the credentials set for a host
// (RegistrySettings::credentials). The order is in the README ("Authentication").
struct CredentialOptions {
    // FLOE_REGISTRY_USERNAME/PASSWORD/TOKEN for the registry of each call's reference (a copy's
    // destination), FLOE_SOURCE_REGISTRY_* for a copy's source (FLOE_REGISTRY_* too when the copy
    // goes to a local layout); never for another host.
    bool environment = true;
    // A Kubernetes pull secret: a Secret manifest or .dockerconfigjson file, or
    // "k8s:NAMESPACE/NAME" read from the API server; "": FLOE_PULL_SECRET, else none.
    std::string pull_secret;
    bool docker_config = true; // docker/podman config files and credential helpers
    bool cloud = true;         // ECR, GCR / Artifact Registry and ACR identities
    // A source that is configured but fails (a helper that times out, say): one line each.
    std::function<void(const std::string&)> warn;
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
