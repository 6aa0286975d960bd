// Fuzzes floe::config::PlatformManifest::parse (yaml-cpp over a platform manifest's `artifacts`
// section: the registry, environments, mirrors) with the raw input.
//
// Invariants (abort on violation):
//  - parse returns or throws floe::Error(invalid_argument) whose message starts with the file
//    name and is one printable line; no yaml-cpp or other exception escapes;
//  - every effective configuration holds the contract's ranges and rules (retry and breaker
//    bounds, initial delay <= max delay, credentials_ref exactly for basic/token, client cert
//    and key together, no mirror equal to the primary), and a reference without a host,
//    qualified under the primary, parses to that host and namespace;
//  - a parsed configuration re-validates: written back as a manifest (each environment in full)
//    it parses again to the same effective configurations;
//  - settings_for, to_json and to_text accept whatever parse accepted.
#include "fuzz_check.hpp"

#include "floe/config/platform_manifest.hpp"
#include "floe/core/error.hpp"
#include "floe/core/reference.hpp"

#include <array>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using floe_fuzz::printable;
using namespace floe::config;

namespace {

constexpr std::string_view file = "fuzz.yaml";

bool is_one_printable_line(std::string_view s) {
    for (char c : s) {
        auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
            return false;
    }
    return true;
}

std::optional<PlatformManifest> parse(std::string_view text) {
    try {
        return PlatformManifest::parse(text, std::string(file));
    } catch (const floe::Error& e) {
        std::string what = e.what();
        FUZZ_CHECK(e.errc() == floe::Errc::invalid_argument,
                   "another error kind: " + printable(what));
        FUZZ_CHECK(what.starts_with(file),
                   "the message does not name the file: " + printable(what));
        FUZZ_CHECK(is_one_printable_line(what), "a control character in: " + printable(what));
        return std::nullopt;
    }
}

// ---- writing a configuration back as YAML -----------------------------------------------------

std::string quoted(std::string_view s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += '\\';
        out += c;
    }
    return out + "\"";
}

std::string number(double d) {
    std::array<char, 64> buf{};
    auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), d);
    return std::string(buf.data(), end);
}

std::string flag(bool b) {
    return b ? "true" : "false";
}

std::string auth_yaml(const AuthSpec& a) {
    std::string out = "{type: " + std::string(to_string(a.type));
    if (auto& r = a.credentials_ref) {
        out += ", credentials_ref: {source: ";
        out += r->source == CredentialsRef::Source::env ? "env" : "kubernetes";
        out += ", name: " + quoted(r->name);
        if (!r->key.empty())
            out += ", key: " + quoted(r->key);
        out += "}";
    }
    return out + "}";
}

std::string block_yaml(const EnvironmentConfig& e, std::string_view indent) {
    std::string i(indent);
    std::string out;
    out += i + "uri: " + quoted(e.primary.uri) + "\n";
    if (e.primary.auth)
        out += i + "auth: " + auth_yaml(*e.primary.auth) + "\n";
    out += i + "tls_verify: " + flag(e.primary.tls_verify) + "\n";
    if (!e.primary.ca_file.empty())
        out += i + "ca_file: " + quoted(e.primary.ca_file) + "\n";
    if (!e.primary.client_cert.empty())
        out += i + "client_cert: " + quoted(e.primary.client_cert) + "\n" + i +
               "client_key: " + quoted(e.primary.client_key) + "\n";
    out += i + "concurrency: " + std::to_string(e.concurrency) + "\n";
    if (e.limit_rate)
        out += i + "limit_rate: " + std::to_string(e.limit_rate) + "\n";
    out += i + "cache: {enabled: " + flag(e.cache.enabled) +
           (e.cache.path.empty() ? "" : ", path: " + quoted(e.cache.path)) +
           ", max_size_gb: " + number(e.cache.max_size_gb) +
           ", ttl_hours: " + number(e.cache.ttl_hours) + "}\n";
    auto& r = e.retry;
    auto& c = e.breaker;
    out += i + "resilience:\n";
    out += i + "  retry: {max_attempts: " + std::to_string(r.max_attempts) +
           ", initial_delay_ms: " + std::to_string(r.initial_delay.count()) +
           ", backoff_multiplier: " + number(r.backoff_multiplier) +
           ", max_delay_ms: " + std::to_string(r.max_delay.count()) +
           ", jitter: " + flag(r.jitter) + "}\n";
    out += i + "  circuit_breaker: {enabled: " + flag(c.enabled) +
           ", failure_threshold: " + std::to_string(c.failure_threshold) +
           ", recovery_timeout_ms: " + std::to_string(c.recovery_timeout.count()) +
           ", half_open_requests: " + std::to_string(c.half_open_requests) + "}\n";
    out += i + "mirrors:" + (e.mirrors.empty() ? " []" : "") + "\n";
    for (auto& m : e.mirrors) {
        out += i + "  - uri: " + quoted(m.uri) + "\n";
        out += i + "    tls_verify: " + flag(m.tls_verify) + "\n";
        if (m.auth)
            out += i + "    auth: " + auth_yaml(*m.auth) + "\n";
    }
    return out;
}

std::string manifest_yaml(const PlatformManifest& m) {
    std::string out = "artifacts:\n  registry:\n" + block_yaml(m.defaults, "    ");
    if (!m.environments.empty()) {
        out += "  environments:\n";
        for (auto& [name, env] : m.environments)
            out += "    " + quoted(name) + ":\n" + block_yaml(env, "      ");
    }
    return out;
}

// Strings outside ASCII could hold YAML line breaks (NEL, U+2028) that quoting would fold.
bool all_ascii(const PlatformManifest& m) {
    auto ascii = [](std::string_view s) {
        for (char c : s)
            if (static_cast<unsigned char>(c) >= 0x80)
                return false;
        return true;
    };
    auto env_ok = [&](const EnvironmentConfig& e) {
        auto ep = [&](const RegistryEndpoint& p) {
            bool ok =
                ascii(p.uri) && ascii(p.ca_file) && ascii(p.client_cert) && ascii(p.client_key);
            if (p.auth && p.auth->credentials_ref)
                ok = ok && ascii(p.auth->credentials_ref->name) &&
                     ascii(p.auth->credentials_ref->key);
            return ok;
        };
        bool ok = ep(e.primary) && ascii(e.cache.path) && ascii(e.name);
        for (auto& mirror : e.mirrors)
            ok = ok && ep(mirror);
        return ok;
    };
    bool ok = env_ok(m.defaults);
    for (auto& [_, e] : m.environments)
        ok = ok && env_ok(e);
    return ok;
}

// ---- comparing ----------------------------------------------------------------------------------

bool same_auth(const std::optional<AuthSpec>& a, const std::optional<AuthSpec>& b) {
    if (a.has_value() != b.has_value())
        return false;
    if (!a)
        return true;
    if (a->type != b->type || a->credentials_ref.has_value() != b->credentials_ref.has_value())
        return false;
    if (!a->credentials_ref)
        return true;
    auto &x = *a->credentials_ref, &y = *b->credentials_ref;
    return x.source == y.source && x.name == y.name && x.key == y.key;
}

bool same_endpoint(const RegistryEndpoint& a, const RegistryEndpoint& b) {
    return a.uri == b.uri && a.host == b.host && a.namespace_ == b.namespace_ &&
           same_auth(a.auth, b.auth) && a.tls_verify == b.tls_verify && a.ca_file == b.ca_file &&
           a.client_cert == b.client_cert && a.client_key == b.client_key;
}

bool same(const EnvironmentConfig& a, const EnvironmentConfig& b) {
    if (a.mirrors.size() != b.mirrors.size())
        return false;
    for (std::size_t i = 0; i < a.mirrors.size(); ++i)
        if (!same_endpoint(a.mirrors[i], b.mirrors[i]))
            return false;
    auto &r = a.retry, &s = b.retry;
    auto &c = a.breaker, &d = b.breaker;
    return a.name == b.name && same_endpoint(a.primary, b.primary) &&
           r.max_attempts == s.max_attempts && r.initial_delay == s.initial_delay &&
           r.backoff_multiplier == s.backoff_multiplier && r.max_delay == s.max_delay &&
           r.jitter == s.jitter && c.enabled == d.enabled &&
           c.failure_threshold == d.failure_threshold && c.recovery_timeout == d.recovery_timeout &&
           c.half_open_requests == d.half_open_requests && a.cache.enabled == b.cache.enabled &&
           a.cache.path == b.cache.path && a.cache.max_size_gb == b.cache.max_size_gb &&
           a.cache.ttl_hours == b.cache.ttl_hours && a.concurrency == b.concurrency &&
           a.limit_rate == b.limit_rate;
}

// ---- the rules ----------------------------------------------------------------------------------

void check_endpoint(const RegistryEndpoint& e, std::string_view text) {
    FUZZ_CHECK(!e.host.empty() && e.uri.starts_with("oci://"), printable(text));
    if (e.auth)
        FUZZ_CHECK(e.auth->credentials_ref.has_value() == needs_credentials_ref(e.auth->type),
                   "credentials_ref on the wrong auth type: " + printable(text));
    FUZZ_CHECK(e.client_cert.empty() == e.client_key.empty(),
               "a client certificate without its key: " + printable(text));
}

void check_rules(const EnvironmentConfig& e, std::string_view text) {
    check_endpoint(e.primary, text);
    for (auto& m : e.mirrors) {
        check_endpoint(m, text);
        FUZZ_CHECK(!(m.host == e.primary.host && m.namespace_ == e.primary.namespace_),
                   "a mirror that is the primary: " + printable(text));
    }
    auto& r = e.retry;
    FUZZ_CHECK(r.max_attempts >= 1 && r.max_attempts <= 10, printable(text));
    FUZZ_CHECK(r.initial_delay <= r.max_delay && r.initial_delay.count() >= 0, printable(text));
    FUZZ_CHECK(r.backoff_multiplier >= 1 && r.backoff_multiplier <= 10, printable(text));
    FUZZ_CHECK(e.breaker.failure_threshold >= 1 && e.breaker.half_open_requests >= 1 &&
                   e.breaker.recovery_timeout.count() >= 1,
               printable(text));
    FUZZ_CHECK(e.concurrency >= 1 && e.concurrency <= 64, printable(text));
    FUZZ_CHECK(e.cache.max_size_gb > 0 && e.cache.ttl_hours > 0, printable(text));

    if (e.primary.host != "docker.io") { // Docker Hub adds library/ to one-part names
        auto qualified = qualify("orders:1.2.3", e.primary);
        floe::Reference ref;
        try {
            ref = floe::Reference::parse(qualified);
        } catch (const floe::Error& err) {
            FUZZ_CHECK(false, "a qualified reference does not parse: " + printable(qualified) +
                                  ": " + printable(err.what()));
        }
        auto repo = e.primary.namespace_.empty() ? "orders" : e.primary.namespace_ + "/orders";
        FUZZ_CHECK(ref.registry == e.primary.host && ref.repository == repo && ref.tag == "1.2.3",
                   "qualified under the wrong place: " + printable(qualified));
    }
    auto settings = settings_for(e, {}, [](const std::string&) { return std::nullopt; });
    FUZZ_CHECK(!settings.empty() && settings.front().first == e.primary.host, printable(text));
    (void)to_json(e, file);
    (void)to_text(e, file);
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto manifest = parse(text);
    if (!manifest)
        return 0;
    check_rules(manifest->defaults, text);
    for (auto& [name, env] : manifest->environments) {
        FUZZ_CHECK(env.name == name, printable(text));
        check_rules(env, text);
    }
    if (!all_ascii(*manifest))
        return 0;
    auto again_text = manifest_yaml(*manifest);
    auto again = parse(again_text);
    FUZZ_CHECK(again,
               "a parsed configuration does not re-validate:\n" + printable(again_text, 4000));
    FUZZ_CHECK(same(again->defaults, manifest->defaults) &&
                   again->environments.size() == manifest->environments.size(),
               "written back, it reads differently:\n" + printable(again_text, 4000));
    for (auto& [name, env] : manifest->environments) {
        auto it = again->environments.find(name);
        FUZZ_CHECK(it != again->environments.end() && same(it->second, env),
                   "environment " + printable(name) + " reads differently written back:\n" +
                       printable(again_text, 4000));
    }
    return 0;
}
