#include "floe/auth/chain.hpp"

#include "floe/auth/cloud/acr.hpp"
#include "floe/auth/cloud/ecr.hpp"
#include "floe/auth/cloud/gcr.hpp"
#include "floe/auth/docker_config_keychain.hpp"
#include "floe/auth/pull_secret_keychain.hpp"
#include "floe/core/error.hpp"
#include "floe/core/printable.hpp"

#include <cstdlib>

namespace floe::auth {

Task<std::optional<Credentials>> ChainKeychain::resolve(std::string_view registry,
                                                        std::string_view repository) {
    // Copies: the views may not outlive the awaits.
    std::string host(registry), repo(repository);
    for (auto& source : sources_) {
        std::string failure;
        try {
            if (auto found = co_await source->resolve(host, repo))
                co_return found;
            continue;
        } catch (const Error& e) {
            if (e.errc() == Errc::cancelled)
                throw;
            failure = e.what();
        }
        // Outside the handler: the warning may not be the last word if a later source answers.
        if (warned_.insert(failure).second)
            context_.warning(scrub(failure) + "; trying the next credential source");
    }
    co_return std::nullopt;
}

void EnvironmentKeychain::assign(const std::string& registry, const std::string& prefix,
                                 bool first) {
    auto& list = prefixes_[registry];
    for (auto& p : list)
        if (p == prefix)
            return;
    if (first)
        list.insert(list.begin(), prefix);
    else
        list.push_back(prefix);
}

std::optional<Credentials> EnvironmentKeychain::lookup(std::string_view registry) const {
    auto it = prefixes_.find(registry);
    if (it == prefixes_.end())
        return std::nullopt;
    for (auto& prefix : it->second) {
        auto get = [&](const char* suffix) {
            const char* v = std::getenv((prefix + suffix).c_str());
            return v ? std::string(v) : std::string();
        };
        Credentials c{get("_USERNAME"), get("_PASSWORD"), {}, get("_TOKEN"), {}};
        if (c.username.empty() && c.password.empty() && c.registry_token.empty())
            continue;
        c.source = "environment (" + prefix + "_" +
                   (c.registry_token.empty() ? "USERNAME/PASSWORD" : "TOKEN") + ")";
        return c;
    }
    return std::nullopt;
}

Task<std::optional<Credentials>> EnvironmentKeychain::resolve(std::string_view registry,
                                                              std::string_view) {
    co_return lookup(registry);
}

namespace {

// A library caller's synchronous store, labelled.
class ExplicitKeychain final : public Keychain {
  public:
    explicit ExplicitKeychain(std::shared_ptr<const CredentialStore> store)
        : store_(std::move(store)) {}
    Task<std::optional<Credentials>> resolve(std::string_view registry, std::string_view) override {
        auto c = store_->lookup(registry);
        if (c && c->source.empty())
            c->source = "credentials set by the program";
        co_return c;
    }

  private:
    std::shared_ptr<const CredentialStore> store_;
};

std::string pull_secret_spec(const CredentialOptions& options) {
    if (!options.pull_secret.empty())
        return options.pull_secret;
    const char* env = std::getenv("FLOE_PULL_SECRET");
    return env ? env : "";
}

} // namespace

CredentialSources make_credential_sources(const SourceContext& context,
                                          const CredentialOptions& options) {
    CredentialSources s;
    if (options.environment)
        s.environment = std::make_shared<EnvironmentKeychain>();
    if (auto spec = pull_secret_spec(options); !spec.empty())
        s.ambient.push_back(std::make_shared<PullSecretKeychain>(context, spec));
    if (options.docker_config)
        s.ambient.push_back(std::make_shared<DockerConfigKeychain>(context, docker_config_files()));
    // Built even when the options leave them out of the shared chain: a manifest that names a
    // cloud identity for one registry asks for it there.
    s.ecr = std::make_shared<EcrKeychain>(context);
    s.gcr = std::make_shared<GcrKeychain>(context);
    s.acr = std::make_shared<AcrKeychain>(context);
    if (options.cloud)
        s.ambient.insert(s.ambient.end(), {s.ecr, s.gcr, s.acr});
    return s;
}

std::shared_ptr<Keychain> chain_for(const SourceContext& context,
                                    std::shared_ptr<const CredentialStore> explicit_store,
                                    const CredentialSources& sources,
                                    const CredentialPolicy& policy) {
    using Kind = CredentialPolicy::Kind;
    auto chain = std::make_shared<ChainKeychain>(context);
    // What the command line gives for its own reference (FLOE_REGISTRY_*) beats the file, as
    // every explicit flag does; only `any` puts the credentials set by the program first.
    if (policy.kind != Kind::any && sources.environment)
        chain->add(sources.environment);
    switch (policy.kind) {
    case Kind::none: // nothing more: requests go out anonymously
        break;
    case Kind::pull_secret:
        chain->add(std::make_shared<PullSecretKeychain>(context, policy.pull_secret));
        break;
    case Kind::aws:
        chain->add(sources.ecr);
        break;
    case Kind::gcp:
        chain->add(sources.gcr);
        break;
    case Kind::azure:
        chain->add(sources.acr);
        break;
    case Kind::only_set:
    case Kind::any:
        if (explicit_store)
            chain->add(std::make_shared<ExplicitKeychain>(std::move(explicit_store)));
        if (policy.kind == Kind::only_set)
            break;
        if (sources.environment)
            chain->add(sources.environment);
        for (auto& s : sources.ambient)
            chain->add(s);
        break;
    }
    return chain;
}

} // namespace floe::auth
