// A pull secret as a credential source: `--pull-secret FILE` / FLOE_PULL_SECRET (a Secret
// manifest or a mounted .dockerconfigjson), or `k8s:NAMESPACE/NAME`, read once from the API
// server with the pod's service account (KUBERNETES_SERVICE_HOST/PORT; token, ca.crt and
// namespace under /var/run/secrets/kubernetes.io/serviceaccount, or FLOE_K8S_SERVICEACCOUNT_DIR).
#pragma once

#include "floe/auth/docker_config.hpp"
#include "floe/auth/keychain.hpp"
#include "floe/auth/pull_secret.hpp"
#include "floe/auth/source.hpp"
#include "floe/core/error.hpp"

#include <memory>
#include <optional>
#include <string>

namespace floe::auth {

class PullSecretKeychain final : public Keychain {
  public:
    // `spec`: a file path or "k8s:NAMESPACE/NAME" (a bad spec throws Error(invalid_argument)
    // here, before any request).
    PullSecretKeychain(SourceContext context, std::string spec);
    ~PullSecretKeychain() override;
    // Reads the secret on the first call (later calls, concurrent ones included, share that
    // read); a failed read throws the same Error on every call without trying again.
    Task<std::optional<Credentials>> resolve(std::string_view registry,
                                             std::string_view repository) override;

    // "pull secret FILE" or "pull secret k8s:NS/NAME" (NS filled in once it is known).
    const std::string& description() const { return description_; }

  private:
    Task<void> load();
    Task<std::string> fetch_from_cluster();

    SourceContext context_;
    std::string spec_;
    PullSecretSpec parsed_;
    std::string description_;
    std::optional<DockerConfig> loaded_;
    std::optional<Error> failed_;
    std::shared_ptr<Flight> loading_; // the first ask reading the secret
};

} // namespace floe::auth
