// Fuzzes floe::auth::parse_pull_secret (yaml-cpp over a Secret manifest or a mounted docker
// config), parse_pull_secret_spec and the DNS-1123 validators with the raw input.
//
// Invariants (abort on violation):
//  - parse_pull_secret returns or throws floe::Error(invalid_argument) whose message starts with
//    the origin and is one printable line; no yaml-cpp or other exception escapes;
//  - a parsed secret has at least one entry, and each entry's key (split into host and path)
//    finds credentials;
//  - a docker config (or legacy .dockercfg) that DockerConfig parses gives the same credentials
//    when wrapped in a Secret, base64 in `data` (YAML) and plain in `stringData` (JSON);
//  - parse_pull_secret_spec keeps a file path as it is, and a k8s: spec it accepts has names
//    that the validators (checked against a regex oracle) accept, so the API URL built from it
//    has no character that would change its meaning.
#include "fuzz_check.hpp"

#include "floe/auth/pull_secret.hpp"
#include "floe/core/base64.hpp"
#include "floe/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <regex>
#include <string>
#include <string_view>

using floe_fuzz::printable;

namespace {

constexpr std::string_view origin = "pull secret fuzz.yaml";

bool is_one_printable_line(std::string_view s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            return false;
    }
    return true;
}

// nullopt when it threw (after checking how).
std::optional<floe::auth::DockerConfig> parse(std::string_view text, std::string_view from) {
    try {
        return floe::auth::parse_pull_secret(text, from);
    } catch (const floe::Error& e) {
        std::string what = e.what();
        FUZZ_CHECK(e.errc() == floe::Errc::invalid_argument,
                   "another error kind: " + printable(what));
        FUZZ_CHECK(what.starts_with(from),
                   "the message does not name the origin: " + printable(what));
        FUZZ_CHECK(is_one_printable_line(what), "a control character in: " + printable(what));
        return std::nullopt;
    }
}

bool same(const floe::auth::DockerConfig& a, const floe::auth::DockerConfig& b) {
    if (a.auths.size() != b.auths.size())
        return false;
    for (auto ia = a.auths.begin(), ib = b.auths.begin(); ia != a.auths.end(); ++ia, ++ib) {
        auto &x = ia->second, &y = ib->second;
        if (ia->first != ib->first || x.username != y.username || x.password != y.password ||
            x.identity_token != y.identity_token || x.registry_token != y.registry_token)
            return false;
    }
    return true;
}

// A JSON string literal for the text (every byte outside printable ASCII as \u00XX is not
// right for UTF-8, so only inputs that need no such escape are wrapped).
std::optional<std::string> json_string(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u >= 0x7f)
            return std::nullopt;
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

void check_wrapped(std::string_view text) {
    struct Shape {
        const char* type;
        const char* key;
        bool legacy;
    };
    for (auto shape : {Shape{"kubernetes.io/dockerconfigjson", ".dockerconfigjson", false},
                       Shape{"kubernetes.io/dockercfg", ".dockercfg", true}}) {
        floe::auth::DockerConfig direct;
        try {
            direct = shape.legacy ? floe::auth::DockerConfig::parse_legacy(text, origin)
                                  : floe::auth::DockerConfig::parse(text, origin);
        } catch (const floe::Error&) {
            continue;
        }
        if (direct.auths.empty())
            continue;
        auto yaml = std::string("apiVersion: v1\nkind: Secret\nmetadata:\n  name: x\ntype: ") +
                    shape.type + "\ndata:\n  " + shape.key + ": " + floe::base64_encode(text) +
                    "\n";
        auto wrapped = parse(yaml, origin);
        FUZZ_CHECK(wrapped && same(*wrapped, direct),
                   std::string("a config that parses is lost in a Secret's data: '") +
                       printable(text) + "'");
        if (auto literal = json_string(text)) {
            auto json = std::string(R"({"kind":"Secret","type":")") + shape.type +
                        R"(","stringData":{")" + shape.key + "\":" + *literal + "}}";
            auto plain = parse(json, origin);
            FUZZ_CHECK(plain && same(*plain, direct),
                       std::string("a config that parses is lost in a Secret's stringData: '") +
                           printable(text) + "'");
        }
    }
}

bool oracle_label(std::string_view s) {
    static const std::regex re("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", std::regex::optimize);
    return s.size() <= 63 && std::regex_match(s.begin(), s.end(), re);
}

bool oracle_subdomain(std::string_view s) {
    static const std::regex re("^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$",
                               std::regex::optimize);
    return s.size() <= 253 && std::regex_match(s.begin(), s.end(), re);
}

void check_spec(std::string_view text) {
    if (text.size() <= 300) { // std::regex recurses per character
        FUZZ_CHECK(floe::auth::is_dns1123_label(text) == oracle_label(text),
                   "is_dns1123_label disagrees with the grammar for '" + printable(text) + "'");
        FUZZ_CHECK(floe::auth::is_dns1123_subdomain(text) == oracle_subdomain(text),
                   "is_dns1123_subdomain disagrees with the grammar for '" + printable(text) + "'");
    }
    floe::auth::PullSecretSpec spec;
    try {
        spec = floe::auth::parse_pull_secret_spec(text);
    } catch (const floe::Error& e) {
        FUZZ_CHECK(e.errc() == floe::Errc::invalid_argument,
                   "another error kind: " + printable(e.what()));
        FUZZ_CHECK(is_one_printable_line(e.what()),
                   "a control character in: " + printable(e.what()));
        return;
    }
    if (!spec.in_cluster) {
        FUZZ_CHECK(spec.path == text && !text.starts_with("k8s:"), printable(text));
        return;
    }
    FUZZ_CHECK(floe::auth::is_dns1123_subdomain(spec.name), printable(text));
    FUZZ_CHECK(spec.namespace_.empty() || floe::auth::is_dns1123_label(spec.namespace_),
               printable(text));
    auto ns = spec.namespace_.empty() ? std::string("default") : spec.namespace_;
    auto url = floe::auth::k8s_secret_url("10.0.0.1", "443", ns, spec.name);
    FUZZ_CHECK(url == "https://10.0.0.1:443/api/v1/namespaces/" + ns + "/secrets/" + spec.name,
               printable(url));
    FUZZ_CHECK(url.find_first_of("?#%@ \\") == std::string::npos, printable(url));
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);

    if (auto config = parse(text, origin)) {
        FUZZ_CHECK(!config->auths.empty(), "a pull secret without entries: " + printable(text));
        for (auto& [key, c] : config->auths) {
            if (key.find("//") != std::string::npos)
                continue; // an empty path component: no repository name reaches it
            auto slash = key.find('/');
            auto host = key.substr(0, slash);
            auto path = slash == std::string::npos ? std::string() : key.substr(slash + 1);
            FUZZ_CHECK(config->lookup(host, path),
                       "an entry its own key does not find: '" + printable(key) + "'");
        }
    }
    check_wrapped(text);
    check_spec(text);
    return 0;
}
