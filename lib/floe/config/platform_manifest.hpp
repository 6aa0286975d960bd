// The registry configuration a floe platform keeps in its manifest.yaml under `artifacts`:
// `artifacts.registry` (floe's RegistryConfig contract, plus floe-oci's mirrors, ca_file,
// client_cert/client_key, concurrency and limit_rate) and `artifacts.environments.NAME`, each a
// set of the same fields laid over `artifacts.registry`. Parsed, validated (every error names
// FILE:LINE and the key, with a hint) and turned into per-registry settings. No I/O beyond
// reading the file; the README's "Configuration" section shows a complete example.
//
// Merging an environment over the registry: every mapping merges field by field (an
// environment that sets only `uri` keeps the registry's retry, cache, ...), except
//  - `auth`, replaced whole: a type and its credentials_ref are one decision;
//  - `mirrors`, a list, replaced whole (`mirrors: []` drops the registry's mirrors);
//  - `client_cert`/`client_key`, set together or not at all in each block.
// A mirror never inherits the primary's `auth` (a secret for one host is not sent to another):
// a mirror without `auth` is left to floe's ordinary credential sources.
// Relative paths (ca_file, client_cert, client_key, cache.path) are taken from the manifest's
// directory.
#pragma once

#include "floe/config/registry_settings.hpp"
#include "floe/config/secret_ref.hpp"
#include "floe/core/circuit_breaker_settings.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace floe::config {

// Larger manifests are refused before parsing.
inline constexpr std::size_t max_manifest_size = 1024 * 1024;

struct RegistryEndpoint {
    std::string uri;        // as written: oci://host[:port][/namespace]
    std::string host;       // "harbor.example.com", "localhost:5000", "[::1]:5000"
    std::string namespace_; // "floe", "teams/data"; may be empty
    // nullopt: no `auth` in the file; floe's ordinary credential sources decide (docker config,
    // FLOE_REGISTRY_*, pull secret, cloud identities).
    std::optional<AuthSpec> auth;
    bool tls_verify = true;
    std::string ca_file;     // extra trusted CAs (PEM), the environment's, for every endpoint
    std::string client_cert; // mTLS, the environment's, for every endpoint; both or neither
    std::string client_key;
};

struct RetrySettings {
    int max_attempts = 3;
    std::chrono::milliseconds initial_delay{1000};
    double backoff_multiplier = 2.0;
    std::chrono::milliseconds max_delay{30'000};
    bool jitter = true;
};

// The circuit breaker: floe::CircuitBreakerSettings (core/circuit_breaker_settings.hpp), shared
// with the transport layer that enforces it.
// On by default: with mirrors configured it is what turns a dead primary into a fast failover
// rather than a timeout per request, and 5 failures in a row never happen to a healthy registry.
using floe::CircuitBreakerSettings;

// Off by default: the platform asks for a cache explicitly. An empty path: floe's default cache
// directory.
struct CacheSettings {
    bool enabled = false;
    std::string path;
    double max_size_gb = 10;
    double ttl_hours = 24;
};

// One environment's effective configuration (the registry's fields with the environment's laid
// over them).
struct EnvironmentConfig {
    std::string name; // the environment, or "" for `artifacts.registry` itself
    RegistryEndpoint primary;
    std::vector<RegistryEndpoint> mirrors; // in priority order
    RetrySettings retry;
    CircuitBreakerSettings breaker;
    CacheSettings cache;
    int concurrency = 4;          // blobs in flight, 1..64
    std::uint64_t limit_rate = 0; // bytes per second; 0: no limit from the file
};

struct PlatformManifest {
    std::string path; // as given; names the file in errors
    EnvironmentConfig defaults;
    std::map<std::string, EnvironmentConfig, std::less<>> environments;

    // Parses and validates `yaml` (the text of the file at `path`). Throws
    // Error(invalid_argument) as one line, "PATH:LINE: KEY.PATH: what is wrong; hint", for the
    // first problem in file order (and says how many more there are). A missing key counts
    // only when nothing present is wrong: a misspelt key is the likelier cause. A text without
    // an `artifacts` section is an error here; discovery (load_manifest) lets one pass.
    static PlatformManifest parse(std::string_view yaml, std::string path);

    // The effective configuration for `name`; "" is `artifacts.registry`. An unknown name
    // throws Error(invalid_argument) listing the known ones.
    const EnvironmentConfig& environment(std::string_view name) const;
};

// Where the manifest comes from: `--config FILE`, else FLOE_MANIFEST, else ./manifest.yaml,
// but only when it has a top-level `artifacts` section (a platform manifest without one, or a
// manifest.yaml of some other tool, is not floe's business).
struct ManifestSearch {
    std::string config_flag; // --config FILE; "" when not given
    EnvLookup env = process_env;
    std::string directory = "."; // where ./manifest.yaml is looked for
};

// nullopt when nothing is configured. A named file (flag or variable) that is missing,
// unreadable or over max_manifest_size throws Error(invalid_argument); so does any problem
// parse() finds.
std::optional<PlatformManifest> load_manifest(const ManifestSearch& search = {});

// The environment to use: `--env NAME` (env_flag), else FLOE_ENVIRONMENT, else "".
std::string environment_name(std::string_view env_flag, const EnvLookup& env = process_env);

// A reference as the user typed it, made whole under an endpoint. Rule (the same as
// Reference::parse's): the part before the first '/' names a registry host when it contains '.'
// or ':' or is "localhost". A reference with such a host, or with a scheme (oci://, ocidir://,
// docker://), is returned as it is; any other gets "HOST/NAMESPACE/" in front:
//   oci://harbor.example.com/floe + orders:1.2.3        -> harbor.example.com/floe/orders:1.2.3
//   oci://harbor.example.com/floe + team/orders@sha256:.. -> harbor.example.com/floe/team/orders@..
//   any endpoint + docker.io/library/alpine:3            -> docker.io/library/alpine:3
// So with a manifest, Docker Hub images need their docker.io/ prefix.
std::string qualify(std::string_view user_ref, const RegistryEndpoint& endpoint);

// The same artifact on a mirror: `qualified` (a qualify() result) under `from`'s host and
// namespace, moved under `to`'s. nullopt when `qualified` is not under `from` (a reference to
// another registry has no mirror).
std::optional<std::string> rebase(std::string_view qualified, const RegistryEndpoint& from,
                                  const RegistryEndpoint& to);

// The per-host settings for an environment, primary first, then each mirror: `base` (the
// defaults, from built-ins and flags) with the file's values laid over it: tls_verify false ->
// insecure_skip_tls_verify, ca_file, client_cert/client_key, concurrency, limit_rate (when set),
// the retry policy, and for an auth `source: env` reference an env_secret_store(). Explicit
// flags beat the file: apply them to the result. Two endpoints on one host: the first one's
// settings win.
std::vector<std::pair<std::string, RegistrySettings>>
settings_for(const EnvironmentConfig& env, const RegistrySettings& base,
             const EnvLookup& lookup = process_env);

// The RetryPolicy a RetrySettings stands for.
RetryPolicy retry_policy(const RetrySettings& retry, const RetryPolicy& base = {});

// `floe config show`: the effective configuration, credentials as references (env:NAME,
// k8s:NS/NAME) with the variable names they read, never a value. `source` names the manifest.
std::string to_json(const EnvironmentConfig& env, std::string_view source = {});
std::string to_text(const EnvironmentConfig& env, std::string_view source = {});

} // namespace floe::config
