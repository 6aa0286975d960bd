// The docker/podman credential files as a keychain, and `floe login`/`logout` storage. Files are
// read on every resolve (the client's CachingKeychain remembers the answers), so a login in
// another terminal is seen by the next command.
#include "floe/auth/docker_config_keychain.hpp"

#include "floe/auth/credential_helper.hpp"
#include "floe/auth/private_file.hpp"
#include "floe/core/base64.hpp"
#include "floe/core/error.hpp"
#include "floe/core/printable.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace floe::auth {
namespace fs = std::filesystem;

namespace {

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? std::string(v) : std::string();
}

std::string shown(const fs::path& p) {
    return printable(p.string());
}

// The registry's host[:port] as credHelpers keys name it.
std::string host_of(std::string_view registry) {
    auto key = normalize_registry_key(registry);
    return key.substr(0, key.find('/'));
}

void remember(const Credentials& c) {
    remember_secret(c.password);
    remember_secret(c.identity_token);
    remember_secret(c.registry_token);
    if (!c.password.empty()) // the "auth" field and the Basic header carry it encoded
        remember_secret(base64_encode(c.username + ":" + c.password));
}

} // namespace

std::vector<fs::path> docker_config_files() {
    std::vector<fs::path> candidates{docker_config_for_writing()};
    if (auto f = env("REGISTRY_AUTH_FILE"); !f.empty())
        candidates.emplace_back(f);
    if (auto d = env("XDG_RUNTIME_DIR"); !d.empty())
        candidates.push_back(fs::path(d) / "containers" / "auth.json");
    std::vector<fs::path> files;
    for (auto& c : candidates) {
        std::error_code ec;
        // A file that cannot even be looked at stays in the list: resolve reports it.
        if (c.empty() || (!fs::exists(c, ec) && !ec))
            continue;
        bool seen = false;
        for (auto& f : files)
            seen = seen || f == c || fs::equivalent(f, c, ec);
        if (!seen)
            files.push_back(c);
    }
    return files;
}

fs::path docker_config_for_writing() {
    if (auto d = env("DOCKER_CONFIG"); !d.empty())
        return fs::path(d) / "config.json";
    if (auto h = env("HOME"); !h.empty())
        return fs::path(h) / ".docker" / "config.json";
    return {};
}

DockerConfigKeychain::DockerConfigKeychain(SourceContext context, std::vector<fs::path> files)
    : context_(std::move(context)), files_(std::move(files)) {}

Task<std::optional<Credentials>> DockerConfigKeychain::resolve(std::string_view registry,
                                                               std::string_view repository) {
    // The arguments are views into the caller's frame: keep copies across suspensions.
    std::string reg(registry), repo(repository);
    for (auto& file : files_) {
        auto text = read_local_file(file, "the credential file");
        if (!text)
            continue;
        auto cfg = DockerConfig::parse(*text, file.string());
        if (auto it = cfg.cred_helpers.find(host_of(reg)); it != cfg.cred_helpers.end())
            if (auto c = co_await ask_helper(it->second, reg))
                co_return c;
        if (auto c = cfg.lookup(reg, repo)) {
            remember(*c);
            c->source = "docker config " + shown(file);
            co_return c;
        }
        if (!cfg.creds_store.empty())
            if (auto c = co_await ask_helper(cfg.creds_store, reg))
                co_return c;
    }
    co_return std::nullopt;
}

Task<std::optional<Credentials>> DockerConfigKeychain::ask_helper(std::string name,
                                                                  std::string registry) {
    if (failed_helpers_.contains(name))
        co_return std::nullopt;
    std::string failure;
    try {
        auto c = co_await helper_get(context_, name, helper_server_url(registry));
        if (c)
            remember(*c);
        co_return c;
    } catch (const Error& e) {
        failure = e.what();
    }
    // Missing, failing or hanging: said once, and not asked again by this keychain (a helper
    // that hangs would otherwise cost its timeout for every repository).
    if (failed_helpers_.insert(name).second)
        context_.warning(failure + "; going on without it");
    co_return std::nullopt;
}

Task<SavedLogin> save_login(const SourceContext& context, const std::string& registry,
                            const Credentials& credentials) {
    remember(credentials);
    auto path = docker_config_for_writing();
    if (path.empty())
        fail(Errc::invalid_argument,
             "cannot tell where to save the login: set HOME or DOCKER_CONFIG");
    auto text = read_local_file(path, "the credential file");
    auto cfg = text ? DockerConfig::parse(*text, path.string()) : DockerConfig{};
    if (auto helper = cfg.helper_for(registry); !helper.empty()) {
        co_await helper_store(context, helper, helper_server_url(registry), credentials);
        // Old credentials in the file would answer before the helper's: leave docker's empty
        // marker entry in their place.
        if (text && has_login(*text, registry, path.string()))
            write_private_file(path, with_login(*text, registry, Credentials{}, path.string()),
                               true);
        co_return SavedLogin{helper_label(helper), false};
    }
    write_private_file(path, with_login(text.value_or(""), registry, credentials, path.string()),
                       true);
    co_return SavedLogin{path.string(), true};
}

Task<std::string> remove_login(const SourceContext& context, const std::string& registry) {
    auto path = docker_config_for_writing();
    if (path.empty())
        co_return std::string();
    auto text = read_local_file(path, "the credential file");
    if (!text)
        co_return std::string();
    auto cfg = DockerConfig::parse(*text, path.string());
    std::string where;
    if (auto helper = cfg.helper_for(registry); !helper.empty())
        if (co_await helper_erase(context, helper, helper_server_url(registry)))
            where = helper_label(helper);
    if (has_login(*text, registry, path.string())) {
        write_private_file(path, without_login(*text, registry, path.string()), true);
        if (where.empty())
            where = path.string();
    }
    co_return where;
}

} // namespace floe::auth
