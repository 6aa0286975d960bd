#include "floe/auth/pull_secret.hpp"

#include "floe/core/base64.hpp"
#include "floe/core/error.hpp"
#include "floe/core/printable.hpp"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <optional>

namespace floe::auth {
namespace {

// The two Secret types the kubelet takes as image pull secrets, and the key each keeps its
// document under.
struct SecretShape {
    std::string_view type;
    std::string_view key;
    bool legacy; // .dockercfg: the auths map at the top level
};
constexpr SecretShape shapes[] = {
    {"kubernetes.io/dockerconfigjson", ".dockerconfigjson", false},
    {"kubernetes.io/dockercfg", ".dockercfg", true},
};

[[noreturn]] void bad(std::string_view origin, const std::string& what) {
    fail(Errc::invalid_argument, std::string(origin) + ": " + what);
}

// A short field value (a kind, a type) fit to quote in a message.
std::string clip(std::string_view s) {
    constexpr std::size_t max = 64;
    return printable(s.substr(0, max)) + (s.size() > max ? "..." : "");
}

// yaml-cpp's message without what follows a ':' ("unknown escape character: X" quotes the
// input).
std::string syntax_reason(const std::string& msg) {
    auto colon = msg.find(':');
    return printable(msg.substr(0, colon));
}

YAML::Node load(std::string_view text, std::string_view origin) {
    try {
        return YAML::Load(std::string(text));
    } catch (const YAML::ParserException& e) {
        std::string where;
        if (!e.mark.is_null())
            where = " at line " + std::to_string(e.mark.line + 1) + ", column " +
                    std::to_string(e.mark.column + 1);
        bad(origin, "not valid YAML or JSON (" + syntax_reason(e.msg) + where + ")");
    } catch (const YAML::Exception&) {
        bad(origin, "not valid YAML or JSON");
    }
}

// `map[key]` when map is a mapping that has it (yaml-cpp's const lookup never inserts).
YAML::Node member(const YAML::Node& map, std::string_view key) {
    if (!map.IsMap())
        return YAML::Node(YAML::NodeType::Undefined);
    const YAML::Node& m = map;
    return m[std::string(key)];
}

std::optional<std::string> scalar(const YAML::Node& map, std::string_view key) {
    auto node = member(map, key);
    if (!node.IsDefined() || !node.IsScalar())
        return std::nullopt;
    return node.Scalar();
}

// The document a Secret keeps under `key`: stringData (plain, and the API server lets it win
// over data) or data (base64, which Go's decoder reads across line breaks).
std::string secret_value(const YAML::Node& secret, std::string_view key, std::string_view origin) {
    const std::string quoted = "[\"" + std::string(key) + "\"]";
    for (const char* field : {"stringData", "data"}) {
        auto section = member(secret, field);
        if (!section.IsDefined() || section.IsNull())
            continue;
        if (!section.IsMap())
            bad(origin, std::string("the Secret's ") + field + " is not a mapping");
        auto value = member(section, key);
        if (!value.IsDefined())
            continue;
        if (!value.IsScalar())
            bad(origin, std::string("the Secret's ") + field + quoted + " is not a string");
        if (field == std::string_view("stringData"))
            return value.Scalar();
        std::string text = value.Scalar();
        std::erase_if(text, [](char c) { return c == '\n' || c == '\r'; });
        auto decoded = base64_decode(text);
        if (!decoded)
            bad(origin, "the Secret's data" + quoted + " is not valid base64");
        return *decoded;
    }
    bad(origin, "the Secret has no data" + quoted + " (nor stringData" + quoted + ")");
}

DockerConfig from_manifest(const YAML::Node& root, std::string_view origin) {
    auto kind = scalar(root, "kind");
    if (kind != "Secret")
        bad(origin, (kind ? "a " + clip(*kind) : std::string("an object without a kind")) +
                        " is not a Secret; a pull secret is a Secret of type "
                        "kubernetes.io/dockerconfigjson, or its mounted .dockerconfigjson file");
    // Kubernetes' default type.
    auto type = scalar(root, "type").value_or("Opaque");
    auto shape = std::find_if(std::begin(shapes), std::end(shapes),
                              [&](const SecretShape& s) { return s.type == type; });
    if (shape == std::end(shapes))
        bad(origin, "a Secret of type " + clip(type) +
                        " is not a pull secret; it must be of type kubernetes.io/dockerconfigjson "
                        "(or kubernetes.io/dockercfg)");
    auto document = secret_value(root, shape->key, origin);
    auto inner = std::string(origin) + " (" + std::string(shape->key) + ")";
    return shape->legacy ? DockerConfig::parse_legacy(document, inner)
                         : DockerConfig::parse(document, inner);
}

// The fields only a manifest has: without "kind" such a document is a broken manifest, not a
// mounted docker config.
bool looks_like_manifest(const YAML::Node& root) {
    for (auto field : {"apiVersion", "type", "data", "stringData", "metadata"})
        if (member(root, field).IsDefined())
            return true;
    return false;
}

bool is_label_char(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-';
}

bool is_host_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == ':';
}

} // namespace

DockerConfig parse_pull_secret(std::string_view text, std::string_view origin) {
    if (text.size() > max_pull_secret_size)
        bad(origin, "larger than 1 MiB, which no pull secret is");
    auto root = load(text, origin);
    if (!root.IsMap())
        bad(origin, "neither a Kubernetes Secret nor a docker config file (its top level is not "
                    "a mapping)");
    DockerConfig config;
    if (member(root, "kind").IsDefined())
        config = from_manifest(root, origin);
    else if (looks_like_manifest(root))
        bad(origin, "no \"kind: Secret\"; a pull secret is a Secret of type "
                    "kubernetes.io/dockerconfigjson, or its mounted .dockerconfigjson file");
    else if (member(root, "auths").IsDefined())
        config = DockerConfig::parse(text, origin); // a mounted .dockerconfigjson
    else
        config = DockerConfig::parse_legacy(text, origin); // a mounted .dockercfg
    if (config.auths.empty())
        bad(origin, "no registry credentials in it");
    return config;
}

namespace {
// [a-z0-9]([-a-z0-9]*[a-z0-9])?, of any length.
bool is_label_shape(std::string_view s) {
    return !s.empty() && std::all_of(s.begin(), s.end(), is_label_char) && s.front() != '-' &&
           s.back() != '-';
}
} // namespace

bool is_dns1123_label(std::string_view s) {
    return s.size() <= 63 && is_label_shape(s);
}

bool is_dns1123_subdomain(std::string_view s) {
    if (s.empty() || s.size() > 253)
        return false;
    for (std::size_t start = 0;;) {
        auto dot = s.find('.', start);
        auto label = s.substr(start, dot == std::string_view::npos ? dot : dot - start);
        if (!is_label_shape(label)) // Kubernetes bounds the whole name only, not each label
            return false;
        if (dot == std::string_view::npos)
            return true;
        start = dot + 1;
    }
}

PullSecretSpec parse_pull_secret_spec(std::string_view spec) {
    constexpr std::string_view prefix = "k8s:";
    if (spec.empty())
        fail(Errc::invalid_argument,
             "the pull secret is empty: give a Secret file or k8s:NAMESPACE/NAME");
    PullSecretSpec out;
    if (!spec.starts_with(prefix)) {
        out.path = std::string(spec);
        return out;
    }
    out.in_cluster = true;
    auto rest = spec.substr(prefix.size());
    auto slash = rest.find('/');
    out.name = std::string(rest.substr(slash == std::string_view::npos ? 0 : slash + 1));
    if (slash != std::string_view::npos) {
        out.namespace_ = std::string(rest.substr(0, slash));
        if (!is_dns1123_label(out.namespace_))
            fail(Errc::invalid_argument,
                 "pull secret " + clip(spec) +
                     ": the namespace is not a Kubernetes name (lowercase letters, digits and "
                     "'-', at most 63); write k8s:NAMESPACE/NAME");
    }
    if (!is_dns1123_subdomain(out.name))
        fail(Errc::invalid_argument,
             "pull secret " + clip(spec) +
                 ": the Secret name is not a Kubernetes name (lowercase letters, digits, '-' and "
                 "'.', at most 253); write k8s:NAMESPACE/NAME");
    return out;
}

std::string k8s_secret_url(std::string_view host, std::string_view port, std::string_view ns,
                           std::string_view name) {
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
        host = host.substr(1, host.size() - 2);
    if (host.empty() || host.size() > 253 || !std::all_of(host.begin(), host.end(), is_host_char))
        fail(Errc::invalid_argument, "KUBERNETES_SERVICE_HOST is not a host name or IP address");
    if (port.empty())
        port = "443";
    bool numeric = port.size() <= 5 && std::all_of(port.begin(), port.end(),
                                                   [](char c) { return c >= '0' && c <= '9'; });
    if (!numeric || std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535)
        fail(Errc::invalid_argument, "KUBERNETES_SERVICE_PORT is not a port number");
    std::string h(host);
    if (h.find(':') != std::string::npos) // IPv6
        h = "[" + h + "]";
    return "https://" + h + ":" + std::string(port) + "/api/v1/namespaces/" + std::string(ns) +
           "/secrets/" + std::string(name);
}

} // namespace floe::auth
