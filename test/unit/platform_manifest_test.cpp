// The platform manifest's registry configuration: every validation rule with the line it
// reports, the defaults, environments laid over the registry, discovery, reference
// qualification, FLOE_SECRET_* references, the settings it turns into, and `config show`.
#include "floe/config/platform_manifest.hpp"
#include "floe/config/secret_ref.hpp"
#include "floe/core/error.hpp"
#include "floe/core/printable.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

using namespace floe;
using namespace floe::config;
namespace fs = std::filesystem;

namespace {

const std::string head = "artifacts:\n"
                         "  registry:\n"
                         "    uri: oci://harbor.example.com/floe\n";

// The error parse() throws for `yaml`, checked to be one invalid_argument line.
std::string error_of(std::string_view yaml) {
    try {
        PlatformManifest::parse(yaml, "m.yaml");
    } catch (const Error& e) {
        std::string what = e.what();
        CHECK(e.errc() == Errc::invalid_argument);
        CHECK(what.find('\n') == std::string::npos);
        return what;
    }
    FAIL("no error for:\n" << yaml);
    return {};
}

// The error names the file, the 1-based line and the key, then says what is wrong.
void check_error(std::string_view yaml, int line, std::string_view key, std::string_view says) {
    auto what = error_of(yaml);
    auto prefix = "m.yaml:" + std::to_string(line) + ": " + std::string(key) + ": ";
    CHECK_MESSAGE(what.starts_with(prefix), what);
    CHECK_MESSAGE(what.find(says) != std::string::npos, what);
}

// head plus lines indented under `registry`.
std::string registry_with(std::string_view lines) {
    return head + std::string(lines);
}

EnvLookup fake_env(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](const std::string& name) -> std::optional<std::string> {
        if (auto it = vars.find(name); it != vars.end())
            return it->second;
        return std::nullopt;
    };
}

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("floe-manifest-test-" + std::to_string(::getpid()));
        fs::remove_all(path);
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
        return (path / name).string();
    }
};

} // namespace

TEST_CASE("platform manifest: a minimal registry gets the contract's defaults") {
    auto m = PlatformManifest::parse("name: sales\nowner: {team: data}\n" + head, "m.yaml");
    auto& d = m.environment("");
    CHECK(d.name.empty());
    CHECK(d.primary.uri == "oci://harbor.example.com/floe");
    CHECK(d.primary.host == "harbor.example.com");
    CHECK(d.primary.namespace_ == "floe");
    CHECK_FALSE(d.primary.auth);
    CHECK(d.primary.tls_verify);
    CHECK(d.mirrors.empty());
    CHECK(d.retry.max_attempts == 3);
    CHECK(d.retry.initial_delay.count() == 1000);
    CHECK(d.retry.backoff_multiplier == 2.0);
    CHECK(d.retry.max_delay.count() == 30000);
    CHECK(d.retry.jitter);
    CHECK(d.breaker.enabled);
    CHECK(d.breaker.failure_threshold == 5);
    CHECK(d.breaker.recovery_timeout.count() == 60000);
    CHECK(d.breaker.half_open_requests == 1);
    CHECK_FALSE(d.cache.enabled);
    CHECK(d.concurrency == 4);
    CHECK(d.limit_rate == 0);
    CHECK(m.environments.empty());
}

TEST_CASE("platform manifest: uri forms") {
    auto host_of = [](std::string uri) {
        auto m = PlatformManifest::parse("artifacts:\n  registry:\n    uri: " + uri + "\n", "m");
        return m.defaults.primary.host + "|" + m.defaults.primary.namespace_;
    };
    CHECK(host_of("oci://localhost:5000") == "localhost:5000|");
    CHECK(host_of("oci://localhost") == "localhost|");
    CHECK(host_of("oci://registry.local:5000/a/b-c/") == "registry.local:5000|a/b-c");
    CHECK(host_of("oci://[::1]:5000/floe") == "[::1]:5000|floe");

    auto bad = [](std::string uri, std::string_view says) {
        check_error("artifacts:\n  registry:\n    uri: " + uri + "\n", 3, "artifacts.registry.uri",
                    says);
    };
    bad("https://harbor.example.com/floe", "write oci://");
    bad("harbor.example.com/floe", "missing oci://");
    bad("oci://registry/floe", "needs a dot or a port");
    bad("oci://harbor.example.com/Floe", "lowercase");
    bad("oci://harbor.example.com/a//b", "lowercase");
    bad("oci://harbor..example.com/floe", "not a registry host");
    bad("oci://harbor.example.com:99999/floe", "not a registry host");
    bad("oci://harbor.example.com/floe?x=1", "query");
    bad("\"\"", "non-empty string");
    // Credentials in the uri: refused without quoting them.
    auto what =
        error_of("artifacts:\n  registry:\n    uri: oci://robot:hunter22@h.example.com/x\n");
    CHECK(what.find("credentials_ref") != std::string::npos);
    CHECK(what.find("hunter22") == std::string::npos);
}

TEST_CASE("platform manifest: missing sections and keys") {
    check_error("name: x\n", 1, "artifacts", "missing");
    check_error("artifacts:\n  environments: {}\n", 1, "artifacts.registry", "missing");
    check_error("artifacts:\n  registry:\n    tls_verify: false\n", 2, "artifacts.registry.uri",
                "missing");
    check_error("artifacts: [1, 2]\n", 1, "artifacts", "want a mapping");
    check_error("- a\n- b\n", 1, "artifacts", "missing");
}

TEST_CASE("platform manifest: unknown keys are errors, with a suggestion") {
    check_error(registry_with("    tls_verfy: false\n"), 4, "artifacts.registry.tls_verfy",
                "did you mean tls_verify?");
    check_error(registry_with("    colour: blue\n"), 4, "artifacts.registry.colour",
                "the keys here are uri, auth");
    check_error("artifacts:\n  registri: {}\n", 2, "artifacts.registri", "did you mean registry?");
    check_error(registry_with("    auth:\n      type: anonymous\n      user: x\n"), 6,
                "artifacts.registry.auth.user", "unknown key");
    check_error(registry_with("    resilience:\n      retri: {}\n"), 5,
                "artifacts.registry.resilience.retri", "did you mean retry?");
    check_error(registry_with("    resilience:\n      retry:\n        attempts: 3\n"), 6,
                "artifacts.registry.resilience.retry.attempts", "unknown key");
    check_error(registry_with("    resilience:\n      circuit_breaker:\n        threshold: 3\n"), 6,
                "artifacts.registry.resilience.circuit_breaker.threshold", "unknown key");
    check_error(registry_with("    cache:\n      size: 3\n"), 5, "artifacts.registry.cache.size",
                "unknown key");
    check_error(registry_with("    mirrors:\n      - uri: oci://m.example.com/f\n"
                              "        concurrency: 3\n"),
                6, "artifacts.registry.mirrors[0].concurrency",
                "the keys here are uri, auth, tls_verify");
    check_error(registry_with("    auth:\n      type: basic\n      credentials_ref:\n"
                              "        source: env\n        name: r\n        value: x\n"),
                9, "artifacts.registry.auth.credentials_ref.value", "unknown key");
    check_error(head + "  environments:\n    prod:\n      url: oci://p.example.com/f\n", 6,
                "artifacts.environments.prod.url", "did you mean uri?");
}

TEST_CASE("platform manifest: wrong types") {
    check_error(registry_with("    tls_verify: yes\n"), 4, "artifacts.registry.tls_verify",
                "want true or false");
    check_error(registry_with("    tls_verify: \"true\"\n"), 4, "artifacts.registry.tls_verify",
                "quoted");
    check_error(registry_with("    concurrency: \"8\"\n"), 4, "artifacts.registry.concurrency",
                "want a whole number from 1 to 64");
    check_error(registry_with("    concurrency: 2.5\n"), 4, "artifacts.registry.concurrency",
                "whole number");
    check_error(registry_with("    cache: [on]\n"), 4, "artifacts.registry.cache",
                "want a mapping");
    check_error(registry_with("    cache:\n      path: [a]\n"), 5, "artifacts.registry.cache.path",
                "want a non-empty string; found a list");
    check_error(registry_with("    resilience:\n      retry:\n        backoff_multiplier: .nan\n"),
                6, "artifacts.registry.resilience.retry.backoff_multiplier", "from 1 to 10");
    check_error(registry_with("    mirrors: oci://m.example.com/f\n"), 4,
                "artifacts.registry.mirrors", "want a list of mirrors");
    check_error(registry_with("    auth: basic\n"), 4, "artifacts.registry.auth", "want a mapping");
    check_error(registry_with("    uri2: x\n    ? [a, b]\n    : c\n"), 4, "artifacts.registry.uri2",
                "unknown key"); // the first of two in file order
}

TEST_CASE("platform manifest: out-of-range values") {
    auto retry = [](std::string line) {
        return registry_with("    resilience:\n      retry:\n        " + line + "\n");
    };
    const std::string r = "artifacts.registry.resilience.retry.";
    check_error(retry("max_attempts: 0"), 6, r + "max_attempts", "from 1 to 10");
    check_error(retry("max_attempts: 11"), 6, r + "max_attempts", "from 1 to 10");
    check_error(retry("initial_delay_ms: -1"), 6, r + "initial_delay_ms", "from 0");
    check_error(retry("max_delay_ms: 0"), 6, r + "max_delay_ms", "from 1");
    check_error(retry("backoff_multiplier: 0.5"), 6, r + "backoff_multiplier", "from 1 to 10");
    check_error(retry("initial_delay_ms: 5000\n        max_delay_ms: 2000"), 7, r + "max_delay_ms",
                "initial_delay_ms (5000) is above max_delay_ms (2000)");
    auto breaker = [](std::string line) {
        return registry_with("    resilience:\n      circuit_breaker:\n        " + line + "\n");
    };
    const std::string b = "artifacts.registry.resilience.circuit_breaker.";
    check_error(breaker("failure_threshold: 0"), 6, b + "failure_threshold", "from 1 to 1000");
    check_error(breaker("recovery_timeout_ms: 0"), 6, b + "recovery_timeout_ms", "from 1");
    check_error(breaker("half_open_requests: 101"), 6, b + "half_open_requests", "from 1 to 100");
    check_error(breaker("enabled: 1"), 6, b + "enabled", "true or false");
    check_error(registry_with("    concurrency: 65\n"), 4, "artifacts.registry.concurrency",
                "from 1 to 64");
    check_error(registry_with("    concurrency: 0\n"), 4, "artifacts.registry.concurrency",
                "from 1 to 64");
    check_error(registry_with("    cache:\n      max_size_gb: 0\n"), 5,
                "artifacts.registry.cache.max_size_gb", "greater than 0");
    check_error(registry_with("    cache:\n      ttl_hours: -2\n"), 5,
                "artifacts.registry.cache.ttl_hours", "greater than 0");
    check_error(registry_with("    cache:\n      max_size_gb: .inf\n"), 5,
                "artifacts.registry.cache.max_size_gb", "greater than 0");
    for (auto rate : {"0", "fast", "50X", "-5M", "99999999999999999999G", "17G", "\"\""})
        check_error(registry_with("    limit_rate: " + std::string(rate) + "\n"), 4,
                    "artifacts.registry.limit_rate", "byte size");
}

TEST_CASE("platform manifest: limit_rate as a size or a number") {
    auto rate = [](std::string v) {
        return PlatformManifest::parse(registry_with("    limit_rate: " + v + "\n"), "m")
            .defaults.limit_rate;
    };
    CHECK(rate("50M") == 50u << 20);
    CHECK(rate("\"800K\"") == 800u << 10);
    CHECK(rate("1048576") == 1048576u);
    CHECK(rate("16G") == std::uint64_t(16) << 30);
}

TEST_CASE("platform manifest: auth and credentials_ref") {
    auto auth = [](std::string lines) { return registry_with("    auth:\n" + lines); };
    const std::string a = "artifacts.registry.auth";
    check_error(auth("      credentials_ref: {source: env, name: x}\n"), 4, a + ".type", "missing");
    check_error(auth("      type: password\n"), 5, a + ".type",
                "'password' is not an authentication type; one of anonymous, basic, token, "
                "aws-irsa, azure-managed-identity, gcp-workload-identity");
    check_error(auth("      type: basic\n"), 4, a + ".credentials_ref",
                "basic authentication needs credentials_ref");
    check_error(auth("      type: token\n"), 4, a + ".credentials_ref", "missing");
    for (auto type : {"anonymous", "aws-irsa", "azure-managed-identity", "gcp-workload-identity"})
        check_error(auth("      type: " + std::string(type) +
                         "\n      credentials_ref:\n        source: env\n        name: x\n"),
                    6, a + ".credentials_ref", "not allowed with type " + std::string(type));
    auto ref = [&](std::string lines) {
        return auth("      type: basic\n      credentials_ref:\n" + lines);
    };
    const std::string c = a + ".credentials_ref";
    check_error(ref("        name: x\n"), 6, c + ".source", "missing; env or kubernetes");
    check_error(ref("        source: vault\n        name: x\n"), 7, c + ".source",
                "'vault' is not a source");
    check_error(ref("        source: env\n"), 6, c + ".name", "missing");
    check_error(ref("        source: env\n        name: harbor robot\n"), 8, c + ".name",
                "letters, digits");
    check_error(ref("        source: env\n        name: r\n        key: a.b\n"), 9, c + ".key",
                "letters, digits");
    check_error(ref("        source: kubernetes\n        name: ci/regcred\n        key: token\n"),
                9, c + ".key", "only for source: env");
    check_error(ref("        source: kubernetes\n        name: CI/RegCred\n"), 8, c + ".name",
                "not a Kubernetes Secret");
    check_error(ref("        source: kubernetes\n        name: a/b/c\n"), 8, c + ".name",
                "not a Kubernetes Secret");

    auto m = PlatformManifest::parse(ref("        source: env\n        name: harbor-robot\n"
                                         "        key: pass-word\n"),
                                     "m");
    auto& spec = m.defaults.primary.auth;
    REQUIRE(spec);
    CHECK(spec->type == AuthType::basic);
    REQUIRE(spec->credentials_ref);
    CHECK(spec->credentials_ref->source == CredentialsRef::Source::env);
    CHECK(spec->credentials_ref->name == "harbor-robot");
    CHECK(spec->credentials_ref->key == "pass-word");
    auto k = PlatformManifest::parse(auth("      type: token\n      credentials_ref: "
                                          "{source: kubernetes, name: ci/regcred}\n"),
                                     "m");
    CHECK(pull_secret_spec(*k.defaults.primary.auth->credentials_ref) == "k8s:ci/regcred");
    auto anon = PlatformManifest::parse(auth("      type: aws-irsa\n"), "m");
    CHECK(anon.defaults.primary.auth->type == AuthType::aws_irsa);
    CHECK_FALSE(anon.defaults.primary.auth->credentials_ref);
}

TEST_CASE("platform manifest: client_cert and client_key come together") {
    check_error(registry_with("    client_cert: c.pem\n"), 4, "artifacts.registry.client_cert",
                "client_key is missing beside it");
    check_error(head + "  environments:\n    prod:\n      client_key: k.pem\n", 6,
                "artifacts.environments.prod.client_key", "client_cert is missing");
    auto m = PlatformManifest::parse(
        registry_with("    client_cert: tls/c.pem\n    client_key: /abs/k.pem\n"),
        "/etc/floe/m.yaml");
    CHECK(m.defaults.primary.client_cert == "/etc/floe/tls/c.pem");
    CHECK(m.defaults.primary.client_key == "/abs/k.pem");
}

TEST_CASE("platform manifest: duplicate keys, environment names, mirrors") {
    check_error(registry_with("    concurrency: 2\n    concurrency: 3\n"), 5,
                "artifacts.registry.concurrency", "given twice (first on line 4)");
    // A second artifacts section: yaml-cpp keeps both, PyYAML would read the last one.
    check_error(head + "name: platform\nartifacts:\n  registry:\n    uri: oci://o.example.com/f\n",
                5, "artifacts", "given twice (first on line 1)");
    check_error(head + "  environments:\n    \"pr od\": {}\n", 5, "artifacts.environments",
                "an environment name is");
    check_error(head + "  environments: [dev]\n", 4, "artifacts.environments",
                "want a mapping of environment names");
    check_error(registry_with("    mirrors:\n      - tls_verify: false\n"), 5,
                "artifacts.registry.mirrors[0]", "a mirror needs a uri");
    check_error(registry_with("    mirrors:\n      - uri: oci://m.example.com/f\n"
                              "      - uri: oci://harbor.example.com/floe/\n"),
                6, "artifacts.registry.mirrors[1].uri", "the same registry and namespace");
    check_error(registry_with("    mirrors:\n      - uri: oci://m.example.com/f\n"
                              "      - uri: oci://m.example.com/f\n"),
                6, "artifacts.registry.mirrors[1].uri", "earlier mirror");
    std::string many = "    mirrors:\n";
    for (int i = 0; i < 17; ++i)
        many += "      - uri: oci://m" + std::to_string(i) + ".example.com/f\n";
    check_error(registry_with(many), 5, "artifacts.registry.mirrors", "at most 16");
}

TEST_CASE("platform manifest: the first problem in file order, and how many more") {
    // Checks walk the file top-down except the cross-field ones, which run last: put one first.
    auto what = error_of("artifacts:\n"
                         "  registry:\n"
                         "    resilience:\n"
                         "      retry:\n"
                         "        initial_delay_ms: 9000\n" // line 5, found after the others
                         "        max_delay_ms: 100\n"
                         "    uri: oci://harbor.example.com/floe\n"
                         "    concurrency: 100\n"    // line 8
                         "    tls_verify: maybe\n"); // line 9
    CHECK_MESSAGE(what.starts_with("m.yaml:6: artifacts.registry.resilience.retry.max_delay_ms:"),
                  what);
    CHECK(what.ends_with("(2 more after fixing this)"));
}

TEST_CASE("platform manifest: YAML syntax errors and size") {
    auto what = error_of("artifacts:\n  registry:\n    uri: [oci://x\n    tls: {\n");
    CHECK_MESSAGE(what.starts_with("m.yaml:"), what);
    CHECK(what.find("not valid YAML") != std::string::npos);
    auto unclosed = error_of("artifacts:\n  registry: {uri: a\n");
    CHECK(unclosed.find("not valid YAML") != std::string::npos);
    CHECK(error_of("artifacts:\n  registry:\n    uri: oci://a.b\n   bad: indent\n") ==
          "m.yaml:4: not valid YAML: end of map not found");
    CHECK(error_of("artifacts:\n  registry:\n    uri: oci://a.b\n\tx: 1\n") ==
          "m.yaml:4: not valid YAML: illegal tab when looking for indentation");
    CHECK(error_of(std::string(max_manifest_size + 1, '#')).find("larger than 1 MiB") !=
          std::string::npos);
}

TEST_CASE("platform manifest: environments overlay the registry field by field") {
    auto m = PlatformManifest::parse(
        "artifacts:\n"
        "  registry:\n"
        "    uri: oci://harbor.example.com/floe\n"
        "    auth: {type: basic, credentials_ref: {source: env, name: robot}}\n"
        "    cache: {enabled: true, path: cache, max_size_gb: 5}\n"
        "    resilience:\n"
        "      retry: {max_attempts: 4, initial_delay_ms: 500, jitter: false}\n"
        "      circuit_breaker: {enabled: false}\n"
        "    mirrors:\n"
        "      - uri: oci://dr.example.com/floe\n"
        "    concurrency: 6\n"
        "  environments:\n"
        "    dev:\n"
        "      uri: oci://localhost:5000/dev\n"
        "      mirrors: []\n"
        "    staging:\n"
        "      resilience: {retry: {max_attempts: 7}}\n"
        "      cache: {ttl_hours: 2}\n"
        "    prod:\n"
        "      auth: {type: aws-irsa}\n"
        "      tls_verify: false\n"
        "      mirrors:\n"
        "        - uri: oci://a.example.com/floe\n"
        "          auth: {type: token, credentials_ref: {source: env, name: a, key: t}}\n"
        "        - uri: oci://b.example.com\n"
        "          tls_verify: false\n",
        "/srv/platform/manifest.yaml");
    CHECK(m.environments.size() == 3);
    auto& dev = m.environment("dev");
    CHECK(dev.name == "dev");
    CHECK(dev.primary.host == "localhost:5000");
    CHECK(dev.primary.auth->type == AuthType::basic); // kept
    CHECK(dev.primary.auth->credentials_ref->name == "robot");
    CHECK(dev.mirrors.empty()); // `mirrors: []` drops the registry's
    CHECK(dev.retry.max_attempts == 4);
    CHECK(dev.retry.initial_delay.count() == 500);
    CHECK_FALSE(dev.retry.jitter);
    CHECK_FALSE(dev.breaker.enabled);
    CHECK(dev.concurrency == 6);
    CHECK(dev.cache.path == "/srv/platform/cache");

    auto& staging = m.environment("staging");
    CHECK(staging.primary.uri == "oci://harbor.example.com/floe"); // inherited
    CHECK(staging.retry.max_attempts == 7);
    CHECK(staging.retry.initial_delay.count() == 500); // the rest of retry kept
    CHECK(staging.cache.enabled);
    CHECK(staging.cache.max_size_gb == 5);
    CHECK(staging.cache.ttl_hours == 2);
    REQUIRE(staging.mirrors.size() == 1);
    CHECK(staging.mirrors[0].host == "dr.example.com");
    CHECK_FALSE(staging.mirrors[0].auth); // never the primary's secret

    auto& prod = m.environment("prod");
    CHECK(prod.primary.auth->type == AuthType::aws_irsa); // auth replaced whole
    CHECK_FALSE(prod.primary.auth->credentials_ref);
    CHECK_FALSE(prod.primary.tls_verify);
    REQUIRE(prod.mirrors.size() == 2);
    CHECK(prod.mirrors[0].auth->type == AuthType::token);
    CHECK(prod.mirrors[0].tls_verify);
    CHECK(prod.mirrors[1].namespace_.empty());
    CHECK_FALSE(prod.mirrors[1].tls_verify);

    // The registry itself is unchanged by its environments.
    CHECK(m.defaults.retry.max_attempts == 4);
    CHECK(m.defaults.mirrors.size() == 1);

    try {
        (void)m.environment("qa");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.errc() == Errc::invalid_argument);
        CHECK(std::string(e.what()) ==
              "environment 'qa' is not in /srv/platform/manifest.yaml; known: dev, prod, staging");
    }
}

TEST_CASE("platform manifest: an environment's problem is reported at its own line") {
    check_error(head + "  environments:\n    prod:\n      concurrency: 0\n", 6,
                "artifacts.environments.prod.concurrency", "from 1 to 64");
    // A registry problem is reported once, not once per environment.
    auto what = error_of("artifacts:\n  registry:\n    uri: oci://h.example.com\n"
                         "    resilience: {retry: {initial_delay_ms: 9000, max_delay_ms: 10}}\n"
                         "  environments: {a: {}, b: {}}\n");
    CHECK_MESSAGE(what.find("more after") == std::string::npos, what);
}

TEST_CASE("platform manifest: the example in examples/platform") {
    std::string path = std::string(FLOE_SOURCE_ROOT) + "/examples/platform/manifest.yaml";
    auto m = load_manifest({path, fake_env({}), "/nonexistent"});
    REQUIRE(m);
    CHECK(m->environments.size() == 3);
    auto& dev = m->environment("dev");
    CHECK(dev.primary.host == "localhost:5000");
    CHECK(dev.primary.auth->type == AuthType::anonymous);
    CHECK_FALSE(dev.cache.enabled);
    CHECK(dev.retry.max_attempts == 3);
    auto& staging = m->environment("staging");
    CHECK(staging.primary.ca_file ==
          std::string(FLOE_SOURCE_ROOT) + "/examples/platform/certs/staging-ca.pem");
    CHECK(staging.primary.auth->credentials_ref->name == "harbor-robot");
    auto& prod = m->environment("prod");
    CHECK(prod.primary.namespace_ == "floe-prod");
    CHECK(prod.concurrency == 8);
    CHECK(prod.limit_rate == 200u << 20);
    CHECK(prod.retry.max_attempts == 5);
    CHECK(prod.retry.max_delay.count() == 30000);
    REQUIRE(prod.mirrors.size() == 2);
    CHECK(prod.mirrors[0].host == "harbor-dr.example.com");
    CHECK(prod.mirrors[1].auth->type == AuthType::aws_irsa);
    CHECK(prod.mirrors[0].client_cert == "/etc/floe/tls/client.crt");
    CHECK(secret_env_variables(*prod.mirrors[0].auth->credentials_ref, AuthType::basic) ==
          std::vector<std::string>{"FLOE_SECRET_HARBOR_DR_USERNAME",
                                   "FLOE_SECRET_HARBOR_DR_ROBOT_TOKEN"});
}

TEST_CASE("platform manifest: discovery") {
    TempDir dir;
    auto env = fake_env({});
    CHECK_FALSE(load_manifest({"", env, dir.path.string()})); // nothing there
    dir.write("manifest.yaml", "name: platform\nservices: [a]\n");
    CHECK_FALSE(load_manifest({"", env, dir.path.string()})); // not floe's business
    dir.write("manifest.yaml", "name: p\ndoc: |\n  artifacts: mentioned in a block\n");
    CHECK_FALSE(load_manifest({"", env, dir.path.string()}));
    auto implicit = dir.write("manifest.yaml", "name: p\n" + head);
    auto found = load_manifest({"", env, dir.path.string()});
    REQUIRE(found);
    CHECK(found->path == implicit);
    dir.write("manifest.yaml", "name: p\nartifacts:\n  registry: {uri: nope}\n");
    CHECK_THROWS_AS(load_manifest({"", env, dir.path.string()}), Error); // ours, and wrong

    auto named = dir.write("other.yaml", head + "  environments: {qa: {}}\n");
    auto by_env = load_manifest({"", fake_env({{"FLOE_MANIFEST", named}}), dir.path.string()});
    REQUIRE(by_env);
    CHECK(by_env->environments.count("qa"));
    auto by_flag = load_manifest({named, fake_env({{"FLOE_MANIFEST", "/nope"}}), "/"});
    REQUIRE(by_flag);
    CHECK(by_flag->path == named);
    // A file named explicitly must be floe's.
    auto plain = dir.write("plain.yaml", "name: p\n");
    CHECK_THROWS_AS(load_manifest({plain, env, "/"}), Error);
    try {
        load_manifest({(dir.path / "missing.yaml").string(), env, "/"});
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.errc() == Errc::invalid_argument);
        CHECK(std::string(e.what()).starts_with("--config "));
    }

    CHECK(environment_name("prod", fake_env({{"FLOE_ENVIRONMENT", "dev"}})) == "prod");
    CHECK(environment_name("", fake_env({{"FLOE_ENVIRONMENT", "dev"}})) == "dev");
    CHECK(environment_name("", env).empty());
}

TEST_CASE("platform manifest: qualifying references under an endpoint") {
    RegistryEndpoint e;
    e.host = "harbor.example.com";
    e.namespace_ = "floe";
    CHECK(qualify("orders:1.2.3", e) == "harbor.example.com/floe/orders:1.2.3");
    CHECK(qualify("team/orders@sha256:abc", e) == "harbor.example.com/floe/team/orders@sha256:abc");
    CHECK(qualify("orders@sha256:abc", e) == "harbor.example.com/floe/orders@sha256:abc");
    CHECK(qualify("orders", e) == "harbor.example.com/floe/orders");
    CHECK(qualify("library/alpine:3", e) == "harbor.example.com/floe/library/alpine:3");
    CHECK(qualify("docker.io/library/alpine:3", e) == "docker.io/library/alpine:3");
    CHECK(qualify("localhost/x:1", e) == "localhost/x:1");
    CHECK(qualify("registry:5000/x:1", e) == "registry:5000/x:1");
    CHECK(qualify("oci://h.example.com/x", e) == "oci://h.example.com/x");
    CHECK(qualify("ocidir://out:1", e) == "ocidir://out:1");
    RegistryEndpoint bare;
    bare.host = "localhost:5000";
    CHECK(qualify("orders:1", bare) == "localhost:5000/orders:1");

    RegistryEndpoint mirror;
    mirror.host = "dr.example.com";
    mirror.namespace_ = "floe-dr";
    CHECK(rebase("harbor.example.com/floe/orders:1", e, mirror) ==
          "dr.example.com/floe-dr/orders:1");
    CHECK(rebase("harbor.example.com/floe/orders:1", e, bare) == "localhost:5000/orders:1");
    CHECK_FALSE(rebase("harbor.example.com/floe2/orders:1", e, mirror));
    CHECK_FALSE(rebase("docker.io/library/alpine", e, mirror));
}

TEST_CASE("secret references: FLOE_SECRET_ names and values") {
    CHECK(secret_env_part("harbor-robot") == "HARBOR_ROBOT");
    CHECK(secret_env_part("Prod_Registry-2") == "PROD_REGISTRY_2");
    CredentialsRef ref{CredentialsRef::Source::env, "harbor-robot", ""};
    CHECK(secret_env_variables(ref, AuthType::basic) ==
          std::vector<std::string>{"FLOE_SECRET_HARBOR_ROBOT_USERNAME",
                                   "FLOE_SECRET_HARBOR_ROBOT_PASSWORD"});
    CHECK(secret_env_variables(ref, AuthType::token) ==
          std::vector<std::string>{"FLOE_SECRET_HARBOR_ROBOT_TOKEN"});
    CHECK(secret_env_variables(ref, AuthType::aws_irsa).empty());
    CHECK(describe(ref) == "env:harbor-robot");
    CredentialsRef keyed{CredentialsRef::Source::env, "ci", "api-key"};
    CHECK(secret_env_variables(keyed, AuthType::token) ==
          std::vector<std::string>{"FLOE_SECRET_CI_API_KEY"});
    CHECK(describe(keyed) == "env:ci#api-key");
    CredentialsRef k8s{CredentialsRef::Source::kubernetes, "ci/regcred", ""};
    CHECK(describe(k8s) == "k8s:ci/regcred");
    CHECK(pull_secret_spec(k8s) == "k8s:ci/regcred");
    CHECK(pull_secret_spec(ref).empty());
    CHECK(secret_env_variables(k8s, AuthType::basic).empty());

    auto env = fake_env({{"FLOE_SECRET_HARBOR_ROBOT_USERNAME", "robot$floe"},
                         {"FLOE_SECRET_HARBOR_ROBOT_PASSWORD", "Pa55-w0rd-xyz"},
                         {"FLOE_SECRET_CI_API_KEY", "tok-123456"}});
    auto basic = resolve_env_secret(ref, AuthType::basic, env);
    CHECK(basic.username == "robot$floe");
    CHECK(basic.password == "Pa55-w0rd-xyz");
    CHECK(basic.source.find("FLOE_SECRET_HARBOR_ROBOT_USERNAME") != std::string::npos);
    CHECK(redact_secrets("x Pa55-w0rd-xyz y") == "x <redacted> y"); // remembered
    auto token = resolve_env_secret(keyed, AuthType::token, env);
    CHECK(token.registry_token == "tok-123456");
    CHECK(token.username.empty());

    try {
        resolve_env_secret(ref, AuthType::token, env);
        FAIL("no error");
    } catch (const Error& e) {
        std::string what = e.what();
        CHECK(e.errc() == Errc::invalid_argument);
        CHECK(what.find("FLOE_SECRET_HARBOR_ROBOT_TOKEN is not set") != std::string::npos);
        CHECK(what.find("env:harbor-robot") != std::string::npos);
    }
    auto half = fake_env({{"FLOE_SECRET_HARBOR_ROBOT_USERNAME", "robot"},
                          {"FLOE_SECRET_HARBOR_ROBOT_PASSWORD", ""}});
    CHECK_THROWS_AS(resolve_env_secret(ref, AuthType::basic, half), Error);
    CHECK_THROWS_AS(resolve_env_secret(k8s, AuthType::basic, env), Error);

    // The store reads when asked, so a variable set later is seen.
    std::map<std::string, std::string> vars;
    auto store = env_secret_store(keyed, AuthType::token, [&](const std::string& n) {
        auto it = vars.find(n);
        return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
    });
    CHECK_THROWS_AS(store->lookup("harbor.example.com"), Error);
    vars["FLOE_SECRET_CI_API_KEY"] = "later-token-1";
    CHECK(store->lookup("harbor.example.com")->registry_token == "later-token-1");
}

TEST_CASE("platform manifest: settings per registry host") {
    auto m = PlatformManifest::parse(
        "artifacts:\n"
        "  registry:\n"
        "    uri: oci://harbor.example.com/floe\n"
        "    auth: {type: basic, credentials_ref: {source: env, name: robot}}\n"
        "    tls_verify: false\n"
        "    ca_file: /etc/ca.pem\n"
        "    client_cert: /etc/c.pem\n"
        "    client_key: /etc/k.pem\n"
        "    concurrency: 9\n"
        "    limit_rate: 1M\n"
        "    resilience: {retry: {max_attempts: 2, initial_delay_ms: 10, max_delay_ms: 20, "
        "backoff_multiplier: 1.5, jitter: false}}\n"
        "    mirrors:\n"
        "      - uri: oci://dr.example.com/floe\n"
        "      - uri: oci://harbor.example.com/other\n"
        "      - uri: oci://k.example.com\n"
        "        auth: {type: token, credentials_ref: {source: kubernetes, name: regcred}}\n",
        "m");
    RegistrySettings base;
    base.chunk_size = 1234;
    base.retry.retry_after_cap = std::chrono::milliseconds(5);
    auto env = fake_env(
        {{"FLOE_SECRET_ROBOT_USERNAME", "u"}, {"FLOE_SECRET_ROBOT_PASSWORD", "p4ssw0rd!"}});
    auto s = settings_for(m.defaults, base, env);
    REQUIRE(s.size() == 3); // the second endpoint on harbor.example.com shares the first's
    CHECK(s[0].first == "harbor.example.com");
    CHECK(s[1].first == "dr.example.com");
    CHECK(s[2].first == "k.example.com");
    auto& p = s[0].second;
    CHECK(p.insecure_skip_tls_verify);
    CHECK(p.ca_file == "/etc/ca.pem");
    CHECK(p.client_cert == "/etc/c.pem");
    CHECK(p.client_key == "/etc/k.pem");
    CHECK(p.concurrency == 9);
    CHECK(p.limit_rate == 1u << 20);
    CHECK(p.chunk_size == 1234); // the base's, untouched
    CHECK(p.retry.max_attempts == 2);
    CHECK(p.retry.initial_delay.count() == 10);
    CHECK(p.retry.max_delay.count() == 20);
    CHECK(p.retry.multiplier == 1.5);
    CHECK_FALSE(p.retry.jitter);
    CHECK(p.retry.retry_after_cap.count() == 5);
    REQUIRE(p.credentials);
    CHECK(p.credentials->lookup("harbor.example.com")->password == "p4ssw0rd!");
    auto& dr = s[1].second;
    CHECK(dr.insecure_skip_tls_verify == false); // a mirror's own tls_verify (default true)
    CHECK(dr.ca_file == "/etc/ca.pem");
    CHECK_FALSE(dr.credentials); // not the primary's secret
    using Kind = CredentialPolicy::Kind;
    CHECK(p.credential_policy.kind == Kind::only_set); // the referenced secret, nothing else
    CHECK(dr.credential_policy.kind == Kind::any);     // no auth block: the usual chain
    CHECK_FALSE(s[2].second.credentials);
    CHECK(s[2].second.credential_policy.kind == Kind::pull_secret);
    CHECK(s[2].second.credential_policy.pull_secret == "k8s:regcred");
}

TEST_CASE("platform manifest: auth.type narrows the credential sources of its registry") {
    using Kind = CredentialPolicy::Kind;
    auto policy_of = [](std::string auth) {
        auto m = PlatformManifest::parse("artifacts:\n  registry:\n    uri: oci://r.example.com\n"
                                         "    auth: " +
                                             auth + "\n",
                                         "m");
        return settings_for(m.defaults, {}, fake_env({}))[0].second.credential_policy;
    };
    CHECK(policy_of("{type: anonymous}").kind == Kind::none);
    CHECK(policy_of("{type: aws-irsa}").kind == Kind::aws);
    CHECK(policy_of("{type: gcp-workload-identity}").kind == Kind::gcp);
    CHECK(policy_of("{type: azure-managed-identity}").kind == Kind::azure);
    auto k8s = policy_of("{type: basic, credentials_ref: {source: kubernetes, name: ci/regcred}}");
    CHECK(k8s.kind == Kind::pull_secret);
    CHECK(k8s.pull_secret == "k8s:ci/regcred");
    CHECK(policy_of("{type: token, credentials_ref: {source: env, name: bot}}").kind ==
          Kind::only_set);
}

TEST_CASE("platform manifest: config show shows references, never values") {
    auto m = PlatformManifest::parse(
        "artifacts:\n"
        "  registry:\n"
        "    uri: oci://harbor.example.com/floe\n"
        "    auth: {type: basic, credentials_ref: {source: env, name: robot}}\n"
        "    mirrors:\n"
        "      - uri: oci://k.example.com\n"
        "        auth: {type: token, credentials_ref: {source: kubernetes, name: ci/regcred}}\n"
        "  environments: {prod: {limit_rate: 2M}}\n",
        "m.yaml");
    std::string secret = "show-me-not-9876";
    auto env =
        fake_env({{"FLOE_SECRET_ROBOT_USERNAME", "u"}, {"FLOE_SECRET_ROBOT_PASSWORD", secret}});
    (void)resolve_env_secret(*m.defaults.primary.auth->credentials_ref, AuthType::basic, env);
    auto json = to_json(m.environment("prod"), "m.yaml");
    CHECK(json.find(R"("environment":"prod")") != std::string::npos);
    CHECK(json.find(R"("credentials_ref":"env:robot")") != std::string::npos);
    CHECK(json.find("FLOE_SECRET_ROBOT_PASSWORD") != std::string::npos);
    CHECK(json.find(R"("credentials_ref":"k8s:ci/regcred")") != std::string::npos);
    CHECK(json.find(R"("limit_rate":2097152)") != std::string::npos);
    CHECK(json.find(R"("max_attempts":3)") != std::string::npos);
    CHECK(json.find(secret) == std::string::npos);
    CHECK(to_json(m.defaults).find(R"("environment":null)") != std::string::npos);
    auto text = to_text(m.environment("prod"), "m.yaml");
    CHECK(text.find("environment       prod") != std::string::npos);
    CHECK(text.find("basic, credentials env:robot (FLOE_SECRET_ROBOT_USERNAME, "
                    "FLOE_SECRET_ROBOT_PASSWORD)") != std::string::npos);
    CHECK(text.find("mirror 1          oci://k.example.com") != std::string::npos);
    CHECK(text.find("limit rate        2097152 bytes/s") != std::string::npos);
    CHECK(text.find(secret) == std::string::npos);
}
