// Fuzzes the docker/podman credential file: DockerConfig::parse and parse_legacy, lookup,
// normalize_registry_key, and the login/logout rewrite, with the raw input as the file.
//
// Invariants (abort on violation):
//  - parse, parse_legacy, with_login, without_login and has_login either return or throw
//    floe::Error(invalid_argument); nothing else escapes;
//  - normalize_registry_key is idempotent (on the input's first line and on every key), and a
//    parsed config holds only normalized, non-empty keys and entries with something in them;
//  - lookup of a key's own host and path answers with that key's entry;
//  - on a file that parses: with_login's output parses, answers the new credentials for the
//    registry, keeps every other entry, credHelpers and credsStore as they were, and is a fixed
//    point (logging in again changes nothing); without_login of that removes exactly the
//    registry's entry; has_login agrees with both.
#include "fuzz_check.hpp"

#include "floe/auth/docker_config.hpp"
#include "floe/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using floe_fuzz::printable;

namespace {

bool same(const floe::Credentials& a, const floe::Credentials& b) {
    return a.username == b.username && a.password == b.password &&
           a.identity_token == b.identity_token && a.registry_token == b.registry_token;
}

// Parses, or nullopt when the input is refused the allowed way.
template <class F>
std::optional<floe::auth::DockerConfig> try_parse(F parse, std::string_view text,
                                                  const char* what) {
    try {
        return parse(text);
    } catch (const floe::Error& e) {
        FUZZ_CHECK(e.errc() == floe::Errc::invalid_argument,
                   std::string(what) + " threw another error kind: " + e.what());
        return std::nullopt;
    }
}

void check_keys(const floe::auth::DockerConfig& cfg) {
    for (auto& [key, creds] : cfg.auths) {
        FUZZ_CHECK(!key.empty(), "an empty key");
        FUZZ_CHECK(floe::auth::normalize_registry_key(key) == key,
                   "key not normalized: '" + printable(key) + "'");
        FUZZ_CHECK(!creds.username.empty() || !creds.password.empty() ||
                       !creds.identity_token.empty() || !creds.registry_token.empty(),
                   "an entry with nothing in it: '" + printable(key) + "'");
        auto slash = key.find('/');
        auto host = key.substr(0, slash);
        auto path = slash == std::string::npos ? std::string() : key.substr(slash + 1);
        auto found = cfg.lookup(host, path);
        FUZZ_CHECK(found && same(*found, creds),
                   "lookup of its own key misses: '" + printable(key) + "'");
    }
    for (auto& [key, name] : cfg.cred_helpers)
        FUZZ_CHECK(!key.empty() && !name.empty() && floe::auth::normalize_registry_key(key) == key,
                   "bad credHelpers entry '" + printable(key) + "'");
}

void check_rewrite(std::string_view text, const floe::auth::DockerConfig& before,
                   const std::string& registry) {
    using namespace floe::auth;
    floe::Credentials login;
    login.username = "fuzz-user";
    login.password = "fuzz:pass";
    auto key = normalize_registry_key(registry);
    std::string written;
    try {
        written = with_login(text, registry, login);
    } catch (const floe::Error& e) {
        FUZZ_CHECK(false, std::string("with_login refused a file that parses: ") + e.what());
    }
    auto after = try_parse([](auto t) { return DockerConfig::parse(t, "rewritten"); }, written,
                           "parse of with_login's output");
    FUZZ_CHECK(after, "with_login wrote a file that does not parse:\n" + printable(written, 2000));
    FUZZ_CHECK(after->auths.count(key) && same(after->auths.at(key), login),
               "the login is not in the rewritten file for '" + printable(registry) + "'");
    FUZZ_CHECK(after->cred_helpers == before.cred_helpers, "credHelpers changed");
    FUZZ_CHECK(after->creds_store == before.creds_store, "credsStore changed");
    for (auto& [k, c] : before.auths)
        if (k != key)
            FUZZ_CHECK(after->auths.count(k) && same(after->auths.at(k), c),
                       "entry '" + printable(k) + "' lost or changed by with_login");
    FUZZ_CHECK(after->auths.size() == before.auths.size() + (before.auths.count(key) ? 0 : 1),
               "with_login added or dropped other entries");
    FUZZ_CHECK(with_login(written, registry, login) == written, "with_login is not a fixed point");
    FUZZ_CHECK(has_login(written, registry), "has_login misses the entry just written");

    auto removed = without_login(written, registry);
    FUZZ_CHECK(!has_login(removed, registry), "without_login left an entry behind");
    auto gone = try_parse([](auto t) { return DockerConfig::parse(t, "removed"); }, removed,
                          "parse of without_login's output");
    FUZZ_CHECK(gone, "without_login wrote a file that does not parse");
    FUZZ_CHECK(!gone->auths.count(key), "without_login kept the registry's entry");
    for (auto& [k, c] : before.auths)
        if (k != key)
            FUZZ_CHECK(gone->auths.count(k) && same(gone->auths.at(k), c),
                       "entry '" + printable(k) + "' lost or changed by without_login");
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    using namespace floe::auth;
    std::string_view text(reinterpret_cast<const char*>(data), size);

    auto line = text.substr(0, text.find('\n'));
    auto once = normalize_registry_key(line);
    FUZZ_CHECK(normalize_registry_key(once) == once,
               "normalize is not idempotent: '" + printable(line) + "' -> '" + printable(once) +
                   "' -> '" + printable(normalize_registry_key(once)) + "'");

    if (auto legacy = try_parse([](auto t) { return DockerConfig::parse_legacy(t, "legacy"); },
                                text, "parse_legacy"))
        check_keys(*legacy);

    auto cfg = try_parse([](auto t) { return DockerConfig::parse(t, "config"); }, text, "parse");
    if (!cfg)
        return 0;
    check_keys(*cfg);
    (void)cfg->helper_for(once);

    check_rewrite(text, *cfg, "registry.example.com:5000");
    check_rewrite(text, *cfg, "registry-1.docker.io");
    if (!cfg->auths.empty()) // replace an existing entry too
        check_rewrite(text, *cfg, cfg->auths.begin()->first);
    return 0;
}
