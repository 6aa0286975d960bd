// The platform manifest on the command line: which file and environment (--config, --env,
// FLOE_MANIFEST, FLOE_ENVIRONMENT), the per-host settings it gives the client (explicit flags
// beat the file), and references without a host resolved under the environment's registry.
#pragma once

#include "floe/client.hpp"
#include "floe/config/platform_manifest.hpp"

#include <functional>
#include <optional>
#include <string>

namespace floe::cli {

struct Platform {
    std::optional<config::PlatformManifest> manifest;
    std::string environment; // "" is artifacts.registry itself

    const config::EnvironmentConfig* effective() const {
        return manifest ? &manifest->environment(environment) : nullptr;
    }
};

// No manifest found and no --env: an empty Platform. --env without a manifest is an error.
Platform load_platform(const std::string& config_flag, const std::string& env_flag);

// The environment's registries into `options.registries`, each with `flags_on_top` applied
// after the file's values (so an explicit flag wins).
void apply_platform(const Platform& platform, ClientOptions& options,
                    const std::function<void(RegistrySettings&)>& flags_on_top);

// `ref` made whole under the environment's registry (config::qualify), or as it is without a
// manifest.
std::string qualified(const Platform& platform, const std::string& ref);

} // namespace floe::cli
