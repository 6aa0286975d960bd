// Docker's (and podman's) credential file, config.json / auth.json, as pure data: parsing,
// which entry answers for a registry, and rewriting the file for `floe login`/`logout` without
// losing the keys floe does not know. No I/O here (the fuzz target parses with it).
//
//   { "auths": { "HOST[/PATH]" or "https://HOST/v1/": { "auth": base64(user:pass),
//                "username": ..., "password": ..., "identitytoken": ... } },
//     "credHelpers": { "HOST": "NAME" },    // docker-credential-NAME for that host
//     "credsStore": "NAME" }                // the helper for every other host
//
// Nothing here calls remember_secret (the fuzzer would grow the process-wide set forever): the
// keychain that hands credentials out does.
#pragma once

#include "floe/auth/credentials.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace floe::auth {

// A registry key as docker writes it ("https://index.docker.io/v1/", "http://host:5000",
// "host:5000/ns/repo") reduced to "host[:port][/path]" (no scheme, no trailing slash; Docker
// Hub's aliases all become "docker.io"). Lower-cases the host, keeps the path as it is. A key
// written with a scheme names a whole registry (docker's form), so its path is dropped; a key
// without one keeps its path (podman's per-repository keys).
std::string normalize_registry_key(std::string_view key);

// The key `floe login` writes for a registry: "https://index.docker.io/v1/" for Docker Hub (what
// docker itself writes and reads), else the normalized key.
std::string registry_key_for_writing(std::string_view registry);

// The server URL a credential helper is asked about: the registry host as docker passes it,
// "https://index.docker.io/v1/" for Docker Hub.
std::string helper_server_url(std::string_view registry);

struct DockerConfig {
    // Normalized key -> credentials (entries with nothing usable in them are left out; when two
    // keys normalize to the same one, the first in the file wins).
    std::map<std::string, Credentials> auths;
    std::map<std::string, std::string> cred_helpers; // normalized host -> helper NAME
    std::string creds_store;

    // config.json / auth.json, or a .dockerconfigjson; throws Error(invalid_argument) naming
    // `origin` (a file name, never the content) when it is not one. Empty text is an empty file.
    static DockerConfig parse(std::string_view json, std::string_view origin);
    // The legacy ~/.dockercfg / kubernetes.io/dockercfg shape: the auths map at the top level.
    static DockerConfig parse_legacy(std::string_view json, std::string_view origin);

    // The credentials stored for `repository` on `registry` (host[:port]): the longest key
    // that is the registry itself or a path prefix of registry/repository wins.
    std::optional<Credentials> lookup(std::string_view registry,
                                      std::string_view repository = {}) const;
    // The helper NAME for a registry: its credHelpers entry, else credsStore, else "".
    std::string helper_for(std::string_view registry) const;
};

// The file's text with auths[registry] set to these credentials (as "auth"; identity tokens as
// "identitytoken"; all fields empty: an empty entry, docker's marker for "stored in a helper"),
// or with every entry for the registry removed; every other key kept. "Every entry for the
// registry" is every key that normalizes to the same registry (Docker Hub's aliases included);
// per-repository keys under it are left alone. Empty text counts as "{}"; text that is not a
// JSON object (or whose "auths" is not an object) throws Error(invalid_argument) naming
// `origin`, so a file floe does not understand is never replaced.
std::string with_login(std::string_view json, std::string_view registry,
                       const Credentials& credentials,
                       std::string_view origin = "the credential file");
std::string without_login(std::string_view json, std::string_view registry,
                          std::string_view origin = "the credential file");
// Whether the file has an entry (even an empty one) that without_login would remove.
bool has_login(std::string_view json, std::string_view registry,
               std::string_view origin = "the credential file");

} // namespace floe::auth
