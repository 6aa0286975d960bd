#include "platform.hpp"

#include "floe/core/error.hpp"

namespace floe::cli {

Platform load_platform(const std::string& config_flag, const std::string& env_flag) {
    Platform p;
    p.manifest = config::load_manifest({config_flag});
    if (!p.manifest) {
        if (!env_flag.empty())
            fail(Errc::invalid_argument,
                 "--env " + env_flag +
                     " needs a platform manifest: give --config FILE, set "
                     "FLOE_MANIFEST, or run where manifest.yaml has an artifacts section");
        return p;
    }
    p.environment = config::environment_name(env_flag);
    p.manifest->environment(p.environment); // an unknown name fails here, listing the known ones
    return p;
}

void apply_platform(const Platform& platform, ClientOptions& options,
                    const std::function<void(RegistrySettings&)>& flags_on_top) {
    auto* env = platform.effective();
    if (!env)
        return;
    for (auto& [host, settings] : config::settings_for(*env, options.registries.defaults)) {
        flags_on_top(settings);
        options.registries.set(host, std::move(settings));
    }
}

std::string qualified(const Platform& platform, const std::string& ref) {
    auto* env = platform.effective();
    return env ? config::qualify(ref, env->primary) : ref;
}

} // namespace floe::cli
