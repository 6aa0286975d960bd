// Kubernetes image pull secrets as pure data: a Secret manifest (YAML or JSON) of type
// kubernetes.io/dockerconfigjson (data[".dockerconfigjson"]) or kubernetes.io/dockercfg
// (data[".dockercfg"]), base64 in `data` or plain in `stringData`; or the mounted file itself
// (a .dockerconfigjson or .dockercfg document). Parsed with yaml-cpp (JSON is YAML).
// Also what `--pull-secret SPEC` names, checked before anything is read or requested.
#pragma once

#include "floe/auth/docker_config.hpp"

#include <cstddef>
#include <string>
#include <string_view>

namespace floe::auth {

// Larger input is refused before parsing (a real pull secret is a few KiB; the API server caps
// a whole Secret at 1 MiB).
inline constexpr std::size_t max_pull_secret_size = 1024 * 1024;

// Throws Error(invalid_argument) naming `origin` and what is wrong (never the content).
DockerConfig parse_pull_secret(std::string_view text, std::string_view origin);

// `--pull-secret SPEC`: a file path, or "k8s:NAMESPACE/NAME" / "k8s:NAME" (the service
// account's own namespace, known only once its namespace file is read).
struct PullSecretSpec {
    bool in_cluster = false;
    std::string path;       // a file (not in_cluster)
    std::string namespace_; // in_cluster; empty: the service account's namespace
    std::string name;       // in_cluster
};

// Throws Error(invalid_argument) for an empty spec, or a namespace or name that Kubernetes
// would not accept (so that no request is sent with one).
PullSecretSpec parse_pull_secret_spec(std::string_view spec);

// Kubernetes object names: a namespace is a DNS-1123 label (RFC 1123: [a-z0-9]([-a-z0-9]*
// [a-z0-9])?, at most 63), a Secret's name a DNS-1123 subdomain (such labels joined by '.', at
// most 253 in all; like Kubernetes' own check, a label in it may be longer than 63).
bool is_dns1123_label(std::string_view s);
bool is_dns1123_subdomain(std::string_view s);

// https://HOST:PORT/api/v1/namespaces/NS/secrets/NAME, with an IPv6 host in brackets.
// Throws Error(invalid_argument) for an empty host or a port that is not a number in 1..65535.
std::string k8s_secret_url(std::string_view host, std::string_view port, std::string_view ns,
                           std::string_view name);

} // namespace floe::auth
