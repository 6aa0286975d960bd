// Kubernetes pull secrets: both Secret types, data and stringData, YAML and JSON manifests, the
// mounted files, every way a secret can be wrong (and that the error never quotes it), the
// --pull-secret spec, and the keychain over a file.
#include "floe/auth/pull_secret.hpp"
#include "floe/auth/pull_secret_keychain.hpp"
#include "floe/core/base64.hpp"
#include "floe/core/error.hpp"
#include "run_task.hpp"

#include <doctest/doctest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <unistd.h>

using namespace floe;
using namespace floe::auth;
using floe::test::run_task;
namespace fs = std::filesystem;

namespace {

const std::string password = "s3cr3t-Pa55word";
const std::string auth_field = base64_encode("robot:" + password);

// A .dockerconfigjson document and its legacy .dockercfg twin.
const std::string config_json =
    R"({"auths":{"registry.example.com":{"auth":")" + auth_field + R"("}}})";
const std::string dockercfg_json =
    R"({"registry.example.com":{"auth":")" + auth_field + R"(","email":"r@example.com"}})";

std::string yaml_secret(std::string_view type, std::string_view section, std::string_view key,
                        std::string_view value) {
    return "apiVersion: v1\nkind: Secret\nmetadata:\n  name: regcred\n  namespace: ci\ntype: " +
           std::string(type) + "\n" + std::string(section) + ":\n  " + std::string(key) + ": " +
           std::string(value) + "\n";
}

void check_robot(const DockerConfig& c) {
    auto found = c.lookup("registry.example.com", "team/app");
    REQUIRE(found);
    CHECK(found->username == "robot");
    CHECK(found->password == password);
    CHECK_FALSE(c.lookup("other.example.com", "team/app"));
}

// The error parse_pull_secret throws, checked to be invalid_argument, to name the origin and
// to quote no secret.
std::string error_of(std::string_view text) {
    try {
        parse_pull_secret(text, "pull secret regcred.yaml");
    } catch (const Error& e) {
        std::string what = e.what();
        CHECK(e.errc() == Errc::invalid_argument);
        CHECK(what.starts_with("pull secret regcred.yaml"));
        CHECK(what.find(password) == std::string::npos);
        CHECK(what.find(auth_field) == std::string::npos);
        CHECK(what.find('\n') == std::string::npos);
        return what;
    }
    FAIL("no error for: " << text);
    return {};
}

bool contains(const std::string& s, std::string_view part) {
    return s.find(part) != std::string::npos;
}

struct TempDir {
    fs::path path;
    TempDir() {
        path = fs::temp_directory_path() / ("floe-pull-secret-" + std::to_string(::getpid()) + "-" +
                                            std::to_string(std::rand()));
        fs::create_directories(path);
    }
    ~TempDir() { fs::remove_all(path); }
    fs::path write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name, std::ios::binary) << text;
        return path / name;
    }
};

// Sets an environment variable for one scope.
struct ScopedEnv {
    std::string name;
    std::optional<std::string> old;
    ScopedEnv(std::string n, const char* value) : name(std::move(n)) {
        if (const char* v = std::getenv(name.c_str()))
            old = v;
        if (value)
            ::setenv(name.c_str(), value, 1);
        else
            ::unsetenv(name.c_str());
    }
    ~ScopedEnv() {
        if (old)
            ::setenv(name.c_str(), old->c_str(), 1);
        else
            ::unsetenv(name.c_str());
    }
};

} // namespace

TEST_CASE("pull secret: a YAML Secret of type dockerconfigjson, base64 in data") {
    check_robot(parse_pull_secret(yaml_secret("kubernetes.io/dockerconfigjson", "data",
                                              ".dockerconfigjson", base64_encode(config_json)),
                                  "f"));
}

TEST_CASE("pull secret: a YAML Secret of type dockerconfigjson, plain in stringData") {
    check_robot(parse_pull_secret(yaml_secret("kubernetes.io/dockerconfigjson", "stringData",
                                              ".dockerconfigjson", "'" + config_json + "'"),
                                  "f"));
    // A block scalar, as people write it by hand.
    check_robot(parse_pull_secret("kind: Secret\ntype: kubernetes.io/dockerconfigjson\n"
                                  "stringData:\n  .dockerconfigjson: |\n    " +
                                      config_json + "\n",
                                  "f"));
}

TEST_CASE("pull secret: a JSON Secret as kubectl get -o json prints it") {
    auto text = R"({"apiVersion":"v1","kind":"Secret","metadata":{"name":"regcred"},)"
                R"("type":"kubernetes.io/dockerconfigjson","data":{".dockerconfigjson":")" +
                base64_encode(config_json) + R"("}})";
    check_robot(parse_pull_secret(text, "f"));
}

TEST_CASE("pull secret: the legacy dockercfg type, in data and in stringData") {
    check_robot(parse_pull_secret(
        yaml_secret("kubernetes.io/dockercfg", "data", ".dockercfg", base64_encode(dockercfg_json)),
        "f"));
    check_robot(parse_pull_secret(yaml_secret("kubernetes.io/dockercfg", "stringData", ".dockercfg",
                                              "'" + dockercfg_json + "'"),
                                  "f"));
    auto json = R"({"kind":"Secret","type":"kubernetes.io/dockercfg","data":{".dockercfg":")" +
                base64_encode(dockercfg_json) + R"("}})";
    check_robot(parse_pull_secret(json, "f"));
}

TEST_CASE("pull secret: stringData wins over data, as the API server merges them") {
    auto other = R"({"auths":{"other.example.com":{"auth":")" + auth_field + R"("}}})";
    auto text = "kind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n"
                "  .dockerconfigjson: " +
                base64_encode(other) + "\nstringData:\n  .dockerconfigjson: '" + config_json +
                "'\n";
    check_robot(parse_pull_secret(text, "f"));
}

TEST_CASE("pull secret: base64 split over lines decodes like Go's decoder") {
    auto b64 = base64_encode(config_json);
    auto text = "kind: Secret\ntype: kubernetes.io/dockerconfigjson\ndata:\n"
                "  .dockerconfigjson: |\n    " +
                b64.substr(0, 20) + "\n    " + b64.substr(20) + "\n";
    check_robot(parse_pull_secret(text, "f"));
}

TEST_CASE("pull secret: the mounted files themselves") {
    check_robot(parse_pull_secret(config_json, "/secrets/.dockerconfigjson"));
    check_robot(parse_pull_secret(dockercfg_json, "/secrets/.dockercfg"));
}

TEST_CASE("pull secret: a Secret that is not a pull secret") {
    CHECK(contains(
        error_of(yaml_secret("Opaque", "data", ".dockerconfigjson", base64_encode(config_json))),
        "a Secret of type Opaque is not a pull secret"));
    // No type: Kubernetes makes it Opaque.
    CHECK(contains(
        error_of("kind: Secret\nstringData:\n  .dockerconfigjson: '" + config_json + "'\n"),
        "type Opaque"));
    CHECK(contains(error_of(yaml_secret("kubernetes.io/tls", "data", "tls.crt", "AAAA")),
                   "type kubernetes.io/tls is not a pull secret"));
    CHECK(contains(error_of("kind: ConfigMap\ndata:\n  a: b\n"), "a ConfigMap is not a Secret"));
    CHECK(contains(error_of("apiVersion: v1\nkind: List\nitems: []\n"), "a List is not a Secret"));
    CHECK(contains(error_of("kind: [Secret]\n"), "without a kind"));
    CHECK(contains(error_of("apiVersion: v1\ntype: kubernetes.io/dockerconfigjson\ndata: {}\n"),
                   "no \"kind: Secret\""));
    // A long or hostile type is clipped and escaped.
    auto clipped = error_of("kind: Secret\ntype: " + std::string(200, 'x') + "\n");
    CHECK(contains(clipped, "..."));
    CHECK_FALSE(contains(clipped, std::string(100, 'x')));
    auto escaped = error_of("kind: Secret\ntype: \"\\e[31mOpaque\"\n");
    CHECK(contains(escaped, "type \\x1b[31mOpaque is not"));
    CHECK_FALSE(contains(escaped, "\x1b"));
}

TEST_CASE("pull secret: the key is missing, misplaced or not a string") {
    auto type = "kind: Secret\ntype: kubernetes.io/dockerconfigjson\n";
    CHECK(contains(error_of(type), "has no data[\".dockerconfigjson\"]"));
    CHECK(contains(error_of(std::string(type) + "data: {}\n"), "no data[\".dockerconfigjson\"]"));
    // The dockercfg key under the dockerconfigjson type.
    CHECK(contains(error_of(std::string(type) +
                            "data:\n  .dockercfg: " + base64_encode(dockercfg_json) + "\n"),
                   "no data[\".dockerconfigjson\"]"));
    CHECK(contains(error_of(std::string(type) + "data: [a, b]\n"), "data is not a mapping"));
    CHECK(contains(error_of(std::string(type) + "data:\n  .dockerconfigjson: {a: b}\n"),
                   "data[\".dockerconfigjson\"] is not a string"));
    CHECK(contains(error_of(std::string(type) + "stringData:\n  .dockerconfigjson: [1]\n"),
                   "stringData[\".dockerconfigjson\"] is not a string"));
    CHECK(contains(error_of(std::string(type) + "data:\n  .dockerconfigjson:\n"), "not a string"));
}

TEST_CASE("pull secret: bad base64 in data") {
    auto type = std::string("kind: Secret\ntype: kubernetes.io/dockerconfigjson\n");
    auto b64 = base64_encode(config_json);
    CHECK(contains(error_of(type + "data:\n  .dockerconfigjson: " + b64.substr(1) + "\n"),
                   "data[\".dockerconfigjson\"] is not valid base64"));
    CHECK(contains(error_of(type + "data:\n  .dockerconfigjson: '" + b64 + "!'\n"),
                   "not valid base64"));
    // stringData is plain text: base64 there is not a docker config.
    error_of(type + "stringData:\n  .dockerconfigjson: " + b64 + "\n");
}

TEST_CASE("pull secret: the document inside is not a docker config") {
    auto type = std::string("kind: Secret\ntype: kubernetes.io/dockerconfigjson\n");
    error_of(type + "data:\n  .dockerconfigjson: " + base64_encode("not json at all " + password) +
             "\n");
    // Well-formed, but nothing usable in it.
    CHECK(contains(error_of(type + "stringData:\n  .dockerconfigjson: '{\"auths\":{}}'\n"),
                   "no registry credentials in it"));
    CHECK(contains(error_of("{\"auths\":{}}"), "no registry credentials in it"));
    CHECK(contains(error_of("{}"), "no registry credentials in it"));
}

TEST_CASE("pull secret: YAML syntax errors give the line, never the text") {
    auto what = error_of("kind: Secret\ntype: kubernetes.io/dockerconfigjson\nstringData:\n"
                         "  .dockerconfigjson: [\"" +
                         password + "\"\n  x: y\n");
    CHECK(contains(what, "not valid YAML or JSON"));
    CHECK(contains(what, "line "));
    auto json = error_of("{\"kind\": \"Secret\",\n \"data\": {\"" + password + "\": }\n");
    CHECK(contains(json, "line "));
    // yaml-cpp puts the offending character in some messages: it is cut off.
    auto escape = error_of("kind: \"\\q" + password + "\"\n");
    CHECK(contains(escape, "unknown escape character at line 1"));
}

TEST_CASE("pull secret: not a mapping, empty, or too large") {
    CHECK(contains(error_of(""), "top level is not a mapping"));
    CHECK(contains(error_of("just words"), "top level is not a mapping"));
    CHECK(contains(error_of("- a\n- b\n"), "top level is not a mapping"));
    CHECK(contains(error_of(std::string(max_pull_secret_size + 1, ' ')), "larger than 1 MiB"));
}

TEST_CASE("pull secret spec: a file, or a Secret in the cluster") {
    auto file = parse_pull_secret_spec("/run/secrets/regcred.yaml");
    CHECK_FALSE(file.in_cluster);
    CHECK(file.path == "/run/secrets/regcred.yaml");
    auto full = parse_pull_secret_spec("k8s:ci-jobs/regcred.v2");
    CHECK(full.in_cluster);
    CHECK(full.namespace_ == "ci-jobs");
    CHECK(full.name == "regcred.v2");
    auto own = parse_pull_secret_spec("k8s:regcred");
    CHECK(own.in_cluster);
    CHECK(own.namespace_.empty());
    CHECK(own.name == "regcred");

    for (auto bad : {"", "k8s:", "k8s:/regcred", "k8s:ci/", "k8s:Ci/regcred", "k8s:ci/RegCred",
                     "k8s:ci_x/regcred", "k8s:ci/a/b", "k8s:ci/../x", "k8s:ci/-a", "k8s:ci.x/a",
                     "k8s:ci/a b", "k8s:ci/a?x=1", "k8s:ci/a%2f"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_pull_secret_spec(bad), Error);
    }
    CHECK_THROWS_AS(parse_pull_secret_spec("k8s:" + std::string(64, 'a') + "/x"), Error);
    CHECK_NOTHROW(parse_pull_secret_spec("k8s:" + std::string(63, 'a') + "/x"));
}

TEST_CASE("DNS-1123 labels and subdomains") {
    CHECK(is_dns1123_label("a"));
    CHECK(is_dns1123_label("kube-system"));
    CHECK(is_dns1123_label("0abc9"));
    CHECK(is_dns1123_label(std::string(63, 'z')));
    CHECK_FALSE(is_dns1123_label(std::string(64, 'z')));
    CHECK_FALSE(is_dns1123_label(""));
    CHECK_FALSE(is_dns1123_label("-a"));
    CHECK_FALSE(is_dns1123_label("a-"));
    CHECK_FALSE(is_dns1123_label("a.b"));
    CHECK_FALSE(is_dns1123_label("A"));
    CHECK(is_dns1123_subdomain("a.b-c.d"));
    CHECK_FALSE(is_dns1123_subdomain("a..b"));
    CHECK_FALSE(is_dns1123_subdomain(".a"));
    CHECK_FALSE(is_dns1123_subdomain("a."));
    CHECK_FALSE(is_dns1123_subdomain("a.-b"));
    CHECK(is_dns1123_subdomain(std::string(100, 'a'))); // as Kubernetes: only the whole is bounded
    std::string long_name;
    while (long_name.size() < 250)
        long_name += "abcdefghi.";
    long_name += "abc"; // 253
    CHECK(is_dns1123_subdomain(long_name));
    CHECK_FALSE(is_dns1123_subdomain(long_name + "d"));
}

TEST_CASE("the API server's URL for a Secret") {
    CHECK(k8s_secret_url("10.96.0.1", "443", "ci", "regcred") ==
          "https://10.96.0.1:443/api/v1/namespaces/ci/secrets/regcred");
    CHECK(k8s_secret_url("fd00:10:96::1", "6443", "ci", "r") ==
          "https://[fd00:10:96::1]:6443/api/v1/namespaces/ci/secrets/r");
    CHECK(k8s_secret_url("[::1]", "443", "ci", "r") ==
          "https://[::1]:443/api/v1/namespaces/ci/secrets/r");
    CHECK(k8s_secret_url("kubernetes.default.svc", "", "ci", "r") ==
          "https://kubernetes.default.svc:443/api/v1/namespaces/ci/secrets/r");
    for (auto port : {"0", "65536", "http", "-1", "44 3", "123456"}) {
        CAPTURE(port);
        CHECK_THROWS_AS(k8s_secret_url("10.0.0.1", port, "ci", "r"), Error);
    }
    for (auto host : {"", "evil.example/x?", "a@b", "a b", "[]"}) {
        CAPTURE(host);
        CHECK_THROWS_AS(k8s_secret_url(host, "443", "ci", "r"), Error);
    }
}

TEST_CASE("pull secret keychain: a Secret file answers for its registry only") {
    TempDir dir;
    auto path =
        dir.write("regcred.yaml", yaml_secret("kubernetes.io/dockerconfigjson", "data",
                                              ".dockerconfigjson", base64_encode(config_json)));
    PullSecretKeychain keychain({}, path.string());
    CHECK(keychain.description() == "pull secret " + path.string());
    auto found = run_task(keychain.resolve("registry.example.com", "team/app"));
    REQUIRE(found);
    CHECK(found->username == "robot");
    CHECK(found->password == password);
    CHECK(found->source == "pull secret " + path.string());
    CHECK_FALSE(run_task(keychain.resolve("other.example.com", "team/app")));
    // Read once: a changed file is not read again.
    fs::remove(path);
    CHECK(run_task(keychain.resolve("registry.example.com", "x")));
}

TEST_CASE("pull secret keychain: a missing or broken file throws the same error every time") {
    TempDir dir;
    PullSecretKeychain missing({}, (dir.path / "nope.yaml").string());
    for (int i = 0; i < 2; ++i) {
        try {
            run_task(missing.resolve("registry.example.com", "a"));
            FAIL("no error");
        } catch (const Error& e) {
            CHECK(e.errc() == Errc::not_found);
            CHECK(contains(e.what(), "nope.yaml: no such file"));
        }
    }
    auto broken = dir.write("opaque.yaml", yaml_secret("Opaque", "data", "x", "eA=="));
    PullSecretKeychain opaque({}, broken.string());
    // Written now: the first read failed and is not retried.
    CHECK_THROWS_WITH_AS(run_task(opaque.resolve("registry.example.com", "a")),
                         doctest::Contains("type Opaque is not a pull secret"), Error);
    dir.write("opaque.yaml", config_json);
    CHECK_THROWS_AS(run_task(opaque.resolve("registry.example.com", "a")), Error);
}

TEST_CASE("pull secret keychain: a bad spec throws before anything is read") {
    CHECK_THROWS_AS(PullSecretKeychain({}, "k8s:Bad/name"), Error);
    CHECK_THROWS_AS(PullSecretKeychain({}, ""), Error);
}

TEST_CASE("pull secret keychain: k8s: outside a pod, or without a token, fails before a request") {
    TempDir dir;
    ScopedEnv sa("FLOE_K8S_SERVICEACCOUNT_DIR", dir.path.c_str());
    {
        ScopedEnv host("KUBERNETES_SERVICE_HOST", nullptr);
        PullSecretKeychain keychain({}, "k8s:ci/regcred");
        CHECK_THROWS_WITH_AS(run_task(keychain.resolve("registry.example.com", "a")),
                             doctest::Contains("KUBERNETES_SERVICE_HOST is not set"), Error);
    }
    ScopedEnv host("KUBERNETES_SERVICE_HOST", "127.0.0.1");
    ScopedEnv port("KUBERNETES_SERVICE_PORT", "1");
    {
        PullSecretKeychain keychain({}, "k8s:ci/regcred");
        CHECK_THROWS_WITH_AS(run_task(keychain.resolve("registry.example.com", "a")),
                             doctest::Contains("pull secret k8s:ci/regcred: "), Error);
    }
    dir.write("token", "tok-abcdef\n");
    {
        // No namespace file for k8s:NAME.
        PullSecretKeychain keychain({}, "k8s:regcred");
        CHECK(keychain.description() == "pull secret k8s:regcred");
        CHECK_THROWS_WITH_AS(run_task(keychain.resolve("registry.example.com", "a")),
                             doctest::Contains("namespace: no such file"), Error);
    }
    dir.write("namespace", "Not A Namespace\n");
    {
        PullSecretKeychain keychain({}, "k8s:regcred");
        CHECK_THROWS_WITH_AS(run_task(keychain.resolve("registry.example.com", "a")),
                             doctest::Contains("does not hold a namespace name"), Error);
    }
    dir.write("namespace", "ci\n");
    {
        ScopedEnv bad_port("KUBERNETES_SERVICE_PORT", "https");
        PullSecretKeychain keychain({}, "k8s:regcred");
        CHECK_THROWS_WITH_AS(run_task(keychain.resolve("registry.example.com", "a")),
                             doctest::Contains("pull secret k8s:ci/regcred: "
                                               "KUBERNETES_SERVICE_PORT is not a port number"),
                             Error);
        CHECK(keychain.description() == "pull secret k8s:ci/regcred");
    }
}
