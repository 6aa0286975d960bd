// The credential chain: sources asked in order, the first answer wins. A source that is
// configured but fails (a helper that is missing or hangs, a cloud endpoint that is down, a
// malformed file) gives one warning naming it, and the chain goes on to the next source; only
// cancellation stops it.
//
// The client's order (README, "Authentication"):
//   1. credentials the library caller set for the host (RegistrySettings::credentials)
//   2. FLOE_REGISTRY_* for the call's reference (FLOE_SOURCE_REGISTRY_* for a copy's source)
//   3. the pull secret (--pull-secret / FLOE_PULL_SECRET)
//   4. docker and podman config files: credHelpers, auths, credsStore
//   5. the cloud registries' own identity: ECR, GCR / Artifact Registry, ACR
//   otherwise anonymous.
#pragma once

#include "floe/auth/credentials.hpp"
#include "floe/auth/keychain.hpp"
#include "floe/auth/source.hpp"

#include <memory>
#include <set>
#include <string>
#include <vector>

namespace floe::auth {

class ChainKeychain final : public Keychain {
  public:
    explicit ChainKeychain(SourceContext context) : context_(std::move(context)) {}
    void add(std::shared_ptr<Keychain> source) { sources_.push_back(std::move(source)); }
    Task<std::optional<Credentials>> resolve(std::string_view registry,
                                             std::string_view repository) override;

  private:
    SourceContext context_;
    std::vector<std::shared_ptr<Keychain>> sources_;
    std::set<std::string> warned_; // each failure is told once per process
};

// Credentials named by environment variables (PREFIX_USERNAME, PREFIX_PASSWORD, PREFIX_TOKEN),
// only for the registries a call assigned them to: the environment holds one credential set,
// and it belongs to the registry the user named, not to whichever host asks.
class EnvironmentKeychain final : public Keychain {
  public:
    // `prefix`: "FLOE_REGISTRY" (a call's reference, a copy's destination) or
    // "FLOE_SOURCE_REGISTRY" (a copy's source). A host given several tries them in order;
    // `first` puts this one before the others.
    void assign(const std::string& registry, const std::string& prefix, bool first = false);
    Task<std::optional<Credentials>> resolve(std::string_view registry,
                                             std::string_view repository) override;
    std::optional<Credentials> lookup(std::string_view registry) const;

  private:
    std::map<std::string, std::vector<std::string>, std::less<>> prefixes_;
};

// The client's chain for a registry, from its explicitly set credentials (may be null) and the
// shared sources the options turn on.
struct CredentialSources {
    std::shared_ptr<EnvironmentKeychain> environment;
    std::vector<std::shared_ptr<Keychain>> ambient; // pull secret, docker config, clouds
    std::shared_ptr<Keychain> ecr, gcr, acr;        // the clouds again, for a policy naming one
};
CredentialSources make_credential_sources(const SourceContext& context,
                                          const CredentialOptions& options);
// `policy` narrows the chain to the sources a platform manifest names for the registry.
std::shared_ptr<Keychain> chain_for(const SourceContext& context,
                                    std::shared_ptr<const CredentialStore> explicit_store,
                                    const CredentialSources& sources,
                                    const CredentialPolicy& policy = {});

} // namespace floe::auth
