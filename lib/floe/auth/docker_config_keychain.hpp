// Credentials from the files docker and podman keep, in this order: $DOCKER_CONFIG/config.json
// (else ~/.docker/config.json), $REGISTRY_AUTH_FILE, ${XDG_RUNTIME_DIR}/containers/auth.json.
// Per file: the host's credHelpers entry, then its auths entry, then credsStore. A helper that
// is missing, fails or times out warns once (naming it) and the lookup goes on.
// Also where `floe login` saves and `floe logout` removes.
#pragma once

#include "floe/auth/docker_config.hpp"
#include "floe/auth/keychain.hpp"
#include "floe/auth/source.hpp"

#include <filesystem>
#include <set>
#include <string>
#include <vector>

namespace floe::auth {

// The files that exist, in lookup order.
std::vector<std::filesystem::path> docker_config_files();
// Where `floe login` writes when no helper is configured: $DOCKER_CONFIG/config.json, else
// ~/.docker/config.json.
std::filesystem::path docker_config_for_writing();

class DockerConfigKeychain final : public Keychain {
  public:
    DockerConfigKeychain(SourceContext context, std::vector<std::filesystem::path> files);
    Task<std::optional<Credentials>> resolve(std::string_view registry,
                                             std::string_view repository) override;

  private:
    // The helper's answer, or nullopt after one warning when it is missing, fails or hangs.
    Task<std::optional<Credentials>> ask_helper(std::string name, std::string registry);

    SourceContext context_;
    std::vector<std::filesystem::path> files_;
    std::set<std::string> failed_helpers_; // each is warned about once and not asked again
};

struct SavedLogin {
    std::string where;        // "credential helper docker-credential-pass" or the file's path
    bool unencrypted = false; // written into a plain file
};

// Saves through the registry's helper (credHelpers, else credsStore, as configured in
// docker_config_for_writing()), else into that file (mode 0600 whatever the umask, replaced
// atomically, its directory created 0700, every other key kept). A file that is not JSON is an
// error, never replaced.
Task<SavedLogin> save_login(const SourceContext& context, const std::string& registry,
                            const Credentials& credentials);
// Removes the registry's credentials wherever save_login would have put them; returns where
// they were removed from, "" when there were none.
Task<std::string> remove_login(const SourceContext& context, const std::string& registry);

} // namespace floe::auth
