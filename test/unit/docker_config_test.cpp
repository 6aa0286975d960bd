// Docker/podman credential files: key normalization, every entry shape, which entry answers for a
// registry and repository, the rewrite for login/logout (unknown keys kept, nothing replaced that
// is not understood), bad input (and that errors never quote a secret), and save_login /
// remove_login on real files (mode, directory, atomic replacement) without any helper process.
#include "floe/auth/credential_helper.hpp"
#include "floe/auth/docker_config.hpp"
#include "floe/auth/docker_config_keychain.hpp"
#include "floe/core/base64.hpp"
#include "floe/core/error.hpp"
#include "run_task.hpp"

#include <doctest/doctest.h>
#include <simdjson.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

using namespace floe;
using namespace floe::auth;
using floe::test::run_task;
namespace fs = std::filesystem;

namespace {

const std::string password = "s3cr3t-Pa55:word"; // a ':' in a password is legal
const std::string auth_field = base64_encode("robot:" + password);

std::string config_with(std::string_view key, std::string_view entry) {
    return R"({"auths":{")" + std::string(key) + R"(":)" + std::string(entry) + "}}";
}

Credentials basic(std::string username, std::string password) {
    Credentials c;
    c.username = std::move(username);
    c.password = std::move(password);
    return c;
}

std::string auth_entry(std::string_view auth = auth_field) {
    return R"({"auth":")" + std::string(auth) + R"("})";
}

// The error a parse throws, for checking what it says (and does not say).
std::string parse_error(std::string_view json, std::string_view origin = "/cfg/config.json") {
    try {
        DockerConfig::parse(json, origin);
    } catch (const Error& e) {
        CHECK(e.errc() == Errc::invalid_argument);
        return e.what();
    }
    FAIL("parse accepted it");
    return {};
}

// The JSON text as a simdjson DOM, to compare documents regardless of layout.
std::string minified(std::string_view json) {
    simdjson::dom::parser parser;
    simdjson::dom::element root;
    REQUIRE(parser.parse(json.data(), json.size()).get(root) == simdjson::SUCCESS);
    return simdjson::minify(root);
}

std::string read(const fs::path& p) {
    std::ifstream in(p);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

void write(const fs::path& p, std::string_view text) {
    std::ofstream(p) << text;
}

// Sets (or unsets) environment variables for one test and puts them back after.
class ScopedEnv {
  public:
    void set(const char* name, const char* value) {
        const char* old = std::getenv(name);
        saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
        if (value)
            ::setenv(name, value, 1);
        else
            ::unsetenv(name);
    }
    ~ScopedEnv() {
        for (auto it = saved_.rbegin(); it != saved_.rend(); ++it) {
            if (it->second)
                ::setenv(it->first.c_str(), it->second->c_str(), 1);
            else
                ::unsetenv(it->first.c_str());
        }
    }

  private:
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

struct TempDir {
    fs::path path;
    TempDir() {
        std::string tmpl = (fs::temp_directory_path() / "floe-dockercfg-XXXXXX").string();
        path = ::mkdtemp(tmpl.data());
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(path, ec);
    }
};

unsigned mode_of(const fs::path& p) {
    struct stat st {};
    REQUIRE(::stat(p.c_str(), &st) == 0);
    return st.st_mode & 0777;
}

} // namespace

// ---- normalization -----------------------------------------------------------------------------

TEST_CASE("registry keys normalize the way docker and podman read them") {
    struct Case {
        const char* key;
        const char* want;
    } cases[] = {
        {"registry.example.com", "registry.example.com"},
        {"https://registry.example.com", "registry.example.com"},
        {"http://registry.example.com:5000/", "registry.example.com:5000"},
        {"https://registry.example.com/v1/", "registry.example.com"}, // a scheme names a registry
        {"HTTPS://Registry.Example.COM:443", "registry.example.com:443"},
        {"registry.example.com/", "registry.example.com"},
        {"quay.io/ns/repo", "quay.io/ns/repo"},  // podman's per-repository key keeps its path
        {"Quay.IO/NS/Repo/", "quay.io/NS/Repo"}, // only the host is lower-cased
        {"https://index.docker.io/v1/", "docker.io"},
        {"index.docker.io", "docker.io"},
        {"index.docker.io/v1/", "docker.io"},
        {"registry-1.docker.io", "docker.io"},
        {"docker.io", "docker.io"},
        {"docker.io/library/ubuntu", "docker.io/library/ubuntu"},
        {"localhost:5000", "localhost:5000"},
        {"127.0.0.1:5000", "127.0.0.1:5000"},
        {"", ""},
    };
    for (auto& c : cases) {
        CAPTURE(c.key);
        CHECK(normalize_registry_key(c.key) == c.want);
        CHECK(normalize_registry_key(normalize_registry_key(c.key)) == c.want);
    }
}

TEST_CASE("keys written for logins and the server URL given to helpers") {
    CHECK(registry_key_for_writing("docker.io") == "https://index.docker.io/v1/");
    CHECK(registry_key_for_writing("registry-1.docker.io") == "https://index.docker.io/v1/");
    CHECK(registry_key_for_writing("Registry.Example.com:5000") == "registry.example.com:5000");
    CHECK(helper_server_url("registry-1.docker.io") == "https://index.docker.io/v1/");
    CHECK(helper_server_url("index.docker.io") == "https://index.docker.io/v1/");
    CHECK(helper_server_url("registry.example.com:5000") == "registry.example.com:5000");
    CHECK(helper_server_url("https://registry.example.com/") == "registry.example.com");
}

// ---- parsing -----------------------------------------------------------------------------------

TEST_CASE("an auths entry with an auth field") {
    auto c = DockerConfig::parse(config_with("https://registry.example.com", auth_entry()), "f");
    REQUIRE(c.auths.size() == 1);
    auto& creds = c.auths.at("registry.example.com");
    CHECK(creds.username == "robot");
    CHECK(creds.password == password); // split at the first ':' only
    CHECK(creds.identity_token.empty());
}

TEST_CASE("username and password fields, and auth winning over them") {
    auto plain = DockerConfig::parse(
        config_with("r.example.com", R"({"username":"alice","password":"pw-alice"})"), "f");
    CHECK(plain.auths.at("r.example.com").username == "alice");
    CHECK(plain.auths.at("r.example.com").password == "pw-alice");

    auto both = DockerConfig::parse(
        config_with("r.example.com",
                    R"({"username":"alice","password":"pw-alice","auth":")" + auth_field + R"("})"),
        "f");
    CHECK(both.auths.at("r.example.com").username == "robot");
    CHECK(both.auths.at("r.example.com").password == password);
}

TEST_CASE("identity and registry tokens") {
    auto c = DockerConfig::parse(R"({"auths":{
        "a.example.com":{"auth":")" + base64_encode("robot:") +
                                     R"(","identitytoken":"refresh-123"},
        "b.example.com":{"registrytoken":"bearer-456"}}})",
                                 "f");
    CHECK(c.auths.at("a.example.com").username == "robot");
    CHECK(c.auths.at("a.example.com").password.empty());
    CHECK(c.auths.at("a.example.com").identity_token == "refresh-123");
    CHECK(c.auths.at("b.example.com").registry_token == "bearer-456");
}

TEST_CASE("entries with nothing usable are left out; first of two aliases wins") {
    auto c = DockerConfig::parse(R"({"auths":{
        "empty.example.com":{},
        "blank.example.com":{"auth":"","email":"x@example.com"},
        "https://index.docker.io/v1/":{"username":"hub-first","password":"p1"},
        "docker.io":{"username":"hub-second","password":"p2"},
        "https://":{"username":"nobody","password":"p3"}}})",
                                 "f");
    CHECK(c.auths.size() == 1);
    CHECK(c.auths.at("docker.io").username == "hub-first");
}

TEST_CASE("credHelpers, credsStore and unknown keys") {
    auto c = DockerConfig::parse(R"({
        "auths": {},
        "credHelpers": {"https://GCR.io": "gcloud", "123.dkr.ecr.eu-west-1.amazonaws.com": "ecr-login",
                        "index.docker.io": "desktop", "empty.example.com": ""},
        "credsStore": "pass",
        "HttpHeaders": {"User-Agent": "x"}, "psFormat": "table", "experimental": true,
        "proxies": {"default": {"httpProxy": "http://p:3128"}}, "n": [1, 2.5e3, -7, null]})",
                                 "f");
    CHECK(c.cred_helpers.size() == 3);
    CHECK(c.helper_for("gcr.io") == "gcloud");
    CHECK(c.helper_for("123.dkr.ecr.eu-west-1.amazonaws.com") == "ecr-login");
    CHECK(c.helper_for("registry-1.docker.io") == "desktop");
    CHECK(c.helper_for("other.example.com") == "pass");
    CHECK(c.helper_for("empty.example.com") == "pass");
    CHECK(DockerConfig::parse("{}", "f").helper_for("gcr.io").empty());
}

TEST_CASE("empty text is an empty file; null sections are absent ones") {
    CHECK(DockerConfig::parse("", "f").auths.empty());
    CHECK(DockerConfig::parse(" \n", "f").auths.empty());
    auto c = DockerConfig::parse(R"({"auths":null,"credHelpers":null,"credsStore":null})", "f");
    CHECK(c.auths.empty());
    CHECK(c.creds_store.empty());
}

TEST_CASE("the legacy dockercfg shape") {
    auto c = DockerConfig::parse_legacy(
        R"({"https://index.docker.io/v1/":{"auth":")" + auth_field +
            R"(","email":"r@example.com"},"registry.example.com/ignored/path":{"auth":")" +
            base64_encode("u:p") + R"("}})",
        "f");
    CHECK(c.auths.at("docker.io").username == "robot");
    CHECK(c.auths.at("registry.example.com").username == "u");
}

// ---- bad input ---------------------------------------------------------------------------------

TEST_CASE("a file that is not a credential file is an error naming it") {
    auto e = parse_error("{\"auths\": {", "/home/me/.docker/config.json");
    CHECK(e.find("/home/me/.docker/config.json") != std::string::npos);
    CHECK(e.find("not valid JSON") != std::string::npos);
    CHECK(parse_error("[1,2]").find("not a JSON object") != std::string::npos);
    CHECK(parse_error("\"text\"").find("/cfg/config.json") != std::string::npos);
    CHECK(parse_error(R"({"auths":[]})").find("\"auths\" is not an object") != std::string::npos);
    CHECK(parse_error(R"({"credHelpers":"pass"})").find("credHelpers") != std::string::npos);
    CHECK(parse_error(R"({"credHelpers":{"a":1}})").find("credHelpers[\"a\"]") !=
          std::string::npos);
    CHECK(parse_error(R"({"credsStore":7})").find("credsStore") != std::string::npos);
    CHECK(parse_error(config_with("a.example.com", "\"x\"")).find("auths[\"a.example.com\"]") !=
          std::string::npos);
    CHECK(parse_error(config_with("a.example.com", R"({"password":5})"))
              .find("auths[\"a.example.com\"].password is not a string") != std::string::npos);
}

TEST_CASE("a bad auth field names the file and the key, never the value") {
    for (std::string bad :
         {base64_encode("robot-without-colon-s3cr3t"), std::string("%%%notbase64"),
          base64_encode("robot:s3cr3t").substr(1), std::string("cm9ib3Q6c2VjcmV0")}) {
        CAPTURE(bad);
        if (bad == "cm9ib3Q6c2VjcmV0") // "robot:secret" without its padding: docker refuses it too
            bad = "cm9ib3Q6c2VjcmV0Cg";
        auto e = parse_error(config_with("Registry.Example.com", auth_entry(bad)));
        CHECK(e.find("/cfg/config.json") != std::string::npos);
        CHECK(e.find("auths[\"Registry.Example.com\"].auth") != std::string::npos);
        CHECK(e.find(bad) == std::string::npos);
        CHECK(e.find("s3cr3t") == std::string::npos);
    }
}

TEST_CASE("control characters in keys and origins are escaped in errors") {
    auto e = parse_error(config_with("evil\\u001b[2Jkey", R"({"auth":"!"})"), "cfg\x1b]0;x");
    CHECK(e.find('\x1b') == std::string::npos);
    CHECK(e.find("\\x1b") != std::string::npos);
}

// ---- which entry answers -----------------------------------------------------------------------

TEST_CASE("lookup: exact host, scheme and path variants, ports kept apart") {
    auto c = DockerConfig::parse(R"({"auths":{
        "https://registry.example.com/v1/":{"username":"plain","password":"p"},
        "registry.example.com:5000":{"username":"port5000","password":"p"},
        "https://index.docker.io/v1/":{"username":"hub","password":"p"}}})",
                                 "f");
    CHECK(c.lookup("registry.example.com", "team/app")->username == "plain");
    CHECK(c.lookup("Registry.Example.com")->username == "plain");
    CHECK(c.lookup("registry.example.com:5000", "team/app")->username == "port5000");
    CHECK_FALSE(c.lookup("registry.example.com:5001", "team/app"));
    CHECK_FALSE(c.lookup("other.example.com", "team/app"));
    CHECK_FALSE(c.lookup("example.com", "team/app"));
    for (auto hub : {"docker.io", "registry-1.docker.io", "index.docker.io"})
        CHECK(c.lookup(hub, "library/ubuntu")->username == "hub");
}

TEST_CASE("lookup: the longest path prefix wins, on component boundaries") {
    auto c = DockerConfig::parse(R"({"auths":{
        "quay.io":{"username":"host","password":"p"},
        "quay.io/team":{"username":"team","password":"p"},
        "quay.io/team/app":{"username":"app","password":"p"}}})",
                                 "f");
    CHECK(c.lookup("quay.io", "team/app")->username == "app");
    CHECK(c.lookup("quay.io", "team/app/sub")->username == "app");
    CHECK(c.lookup("quay.io", "team/apple")->username == "team");
    CHECK(c.lookup("quay.io", "team/other")->username == "team");
    CHECK(c.lookup("quay.io", "teamx/app")->username == "host");
    CHECK(c.lookup("quay.io", "")->username == "host");
    CHECK(c.lookup("quay.io")->username == "host");

    auto only_repo = DockerConfig::parse(
        R"({"auths":{"quay.io/team/app":{"username":"app","password":"p"}}})", "f");
    CHECK(only_repo.lookup("quay.io", "team/app"));
    CHECK_FALSE(only_repo.lookup("quay.io", "team/other"));
    CHECK_FALSE(only_repo.lookup("quay.io"));
}

// ---- rewriting ---------------------------------------------------------------------------------

TEST_CASE("with_login on an empty or missing file") {
    auto c = basic("robot", password);
    for (std::string_view start : {"", "{}", "  \n"}) {
        auto text = with_login(start, "registry.example.com:5000", c);
        CHECK(minified(text) ==
              R"({"auths":{"registry.example.com:5000":{"auth":")" + auth_field + R"("}}})");
        CHECK(DockerConfig::parse(text, "f").lookup("registry.example.com:5000")->password ==
              password);
    }
}

TEST_CASE("with_login keeps every other key, value and order") {
    const std::string original = R"({
        "HttpHeaders": {"User-Agent": "Docker-Client/x \u00e9\n\"q\"", "X-Meta": "\u2603"},
        "auths": {"other.example.com": {"auth": ")" +
                                 auth_field +
                                 R"(", "email": "e@x"},
                  "registry.example.com": {"auth": ")" +
                                 base64_encode("old:old-pw") +
                                 R"("},
                  "zeta.example.com": {}},
        "credHelpers": {"gcr.io": "gcloud"},
        "numbers": [0, -1, 18446744073709551615, 9223372036854775807, 1.5, 1e300, -0.25],
        "flags": {"t": true, "f": false, "n": null},
        "nested": [[], {}, [{"a": [1]}]],
        "dup": 1, "dup": 2})";
    auto c = basic("robot", password);
    auto text = with_login(original, "https://registry.example.com/", c);
    const std::string expected =
        R"({"HttpHeaders":{"User-Agent":"Docker-Client/x \u00e9\n\"q\"","X-Meta":"\u2603"},"auths":{"other.example.com":{"auth":")" +
        auth_field + R"(","email":"e@x"},"registry.example.com":{"auth":")" + auth_field +
        R"("},"zeta.example.com":{}},"credHelpers":{"gcr.io":"gcloud"},"numbers":[0,-1,18446744073709551615,9223372036854775807,1.5,1e300,-0.25],"flags":{"t":true,"f":false,"n":null},"nested":[[],{},[{"a":[1]}]],"dup":1,"dup":2})";
    CHECK(minified(text) == minified(expected));
    CHECK(text.find('\t') != std::string::npos);                // docker's layout: tab-indented
    CHECK(with_login(text, "registry.example.com", c) == text); // idempotent
}

TEST_CASE("with_login replaces every alias of the registry with one canonical key") {
    const std::string original = R"({"auths":{
        "a.example.com":{"username":"a","password":"a"},
        "docker.io":{"username":"old1","password":"x"},
        "https://index.docker.io/v1/":{"username":"old2","password":"x"},
        "registry-1.docker.io":{"username":"old3","password":"x"},
        "docker.io/library/ubuntu":{"username":"per-repo","password":"x"}}})";
    auto text = with_login(original, "registry-1.docker.io", basic("new", "new-pw"));
    CHECK(
        minified(text) ==
        R"({"auths":{"a.example.com":{"username":"a","password":"a"},"https://index.docker.io/v1/":{"auth":")" +
            base64_encode("new:new-pw") +
            R"("},"docker.io/library/ubuntu":{"username":"per-repo","password":"x"}}})");
}

TEST_CASE("with_login: identity tokens and docker's empty marker entry") {
    Credentials token;
    token.username = "robot";
    token.identity_token = "refresh-abc";
    auto text = with_login("{}", "r.example.com", token);
    CHECK(minified(text) == R"({"auths":{"r.example.com":{"auth":")" + base64_encode("robot:") +
                                R"(","identitytoken":"refresh-abc"}}})");
    auto back = DockerConfig::parse(text, "f").lookup("r.example.com");
    CHECK(back->identity_token == "refresh-abc");
    CHECK(back->username == "robot");

    auto marker = with_login(R"({"credsStore":"pass"})", "r.example.com", Credentials{});
    CHECK(minified(marker) == R"({"auths":{"r.example.com":{}},"credsStore":"pass"})");
}

TEST_CASE("without_login and has_login") {
    const std::string original = R"({"x":1,"auths":{
        "a.example.com":{"username":"a","password":"a"},
        "https://index.docker.io/v1/":{"username":"hub","password":"x"},
        "index.docker.io":{},
        "docker.io/library/ubuntu":{"username":"per-repo","password":"x"}}})";
    CHECK(has_login(original, "docker.io"));
    CHECK(has_login(original, "a.example.com"));
    CHECK_FALSE(has_login(original, "b.example.com"));
    CHECK_FALSE(has_login("", "a.example.com"));
    auto text = without_login(original, "registry-1.docker.io");
    CHECK(
        minified(text) ==
        R"({"x":1,"auths":{"a.example.com":{"username":"a","password":"a"},"docker.io/library/ubuntu":{"username":"per-repo","password":"x"}}})");
    CHECK_FALSE(has_login(text, "docker.io"));
    CHECK(minified(without_login(text, "b.example.com")) == minified(text));
    CHECK(minified(without_login("{}", "a.example.com")) == "{}");
}

TEST_CASE("a file that is not understood is never rewritten") {
    auto c = basic("u", "p");
    for (std::string_view bad : {"not json", "[]", "{\"auths\":", R"({"auths":"x"})"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(with_login(bad, "r.example.com", c, "/x/config.json"), Error);
        CHECK_THROWS_AS(without_login(bad, "r.example.com"), Error);
        CHECK_THROWS_AS(has_login(bad, "r.example.com"), Error);
    }
    try {
        with_login("nope", "r.example.com", c, "/x/config.json");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("/x/config.json") != std::string::npos);
    }
}

// ---- helpers: refused before any process
// ---------------------------------------------------------

TEST_CASE("helper names that could reach outside PATH are refused") {
    CHECK(is_valid_helper_name("pass"));
    CHECK(is_valid_helper_name("ecr-login"));
    CHECK(is_valid_helper_name("osxkeychain.v2_x"));
    for (auto bad : {"", ".", "..", "../../bin/sh", "a/b", "a b", "pass;rm", "x\n", "$(id)"}) {
        CAPTURE(bad);
        CHECK_FALSE(is_valid_helper_name(bad));
    }
    SourceContext ctx;
    try {
        run_task(helper_get(ctx, "../../bin/sh", "r.example.com"));
        FAIL("an invalid helper name was run");
    } catch (const Error& e) {
        CHECK(e.errc() == Errc::invalid_argument);
        CHECK(
            std::string(e.what()).starts_with("credential helper docker-credential-../../bin/sh"));
    }
}

TEST_CASE("a helper that is not on PATH is an error naming it") {
    TempDir dir;
    ScopedEnv env;
    env.set("PATH", dir.path.c_str());
    SourceContext ctx;
    try {
        run_task(helper_get(ctx, "floe-no-such-helper", "r.example.com"));
        FAIL("a missing helper answered");
    } catch (const Error& e) {
        CHECK(e.errc() == Errc::not_found);
        CHECK(std::string(e.what()) ==
              "credential helper docker-credential-floe-no-such-helper is not installed (not "
              "found on PATH)");
    }
}

// ---- the keychain and login storage on files
// -----------------------------------------------------

TEST_CASE("keychain: file order, auths with the path match, and the source named") {
    TempDir dir;
    auto first = dir.path / "first.json", second = dir.path / "second.json";
    write(first, R"({"auths":{"quay.io/team/app":{"username":"app","password":"app-pw"}}})");
    write(second, R"({"auths":{"quay.io":{"username":"host","password":"host-pw"},
                                "b.example.com":{"username":"b","password":"b-pw"}}})");
    DockerConfigKeychain kc({}, {first, second, dir.path / "missing.json"});
    auto app = run_task(kc.resolve("quay.io", "team/app"));
    REQUIRE(app);
    CHECK(app->username == "app");
    CHECK(app->source == "docker config " + first.string());
    CHECK(run_task(kc.resolve("quay.io", "team/other"))->username == "host");
    CHECK(run_task(kc.resolve("b.example.com", "x"))->source == "docker config " + second.string());
    CHECK_FALSE(run_task(kc.resolve("c.example.com", "x")));
}

TEST_CASE("keychain: a malformed or unreadable file is an error naming it") {
    TempDir dir;
    auto bad = dir.path / "config.json";
    write(bad, R"({"auths":{"r.example.com":{"auth":"bm8tY29sb24="}}})");
    DockerConfigKeychain kc({}, {bad});
    try {
        run_task(kc.resolve("r.example.com", "x"));
        FAIL("a malformed file was accepted");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find(bad.string()) != std::string::npos);
    }
    fs::remove(bad);
    fs::create_directory(bad);
    CHECK_THROWS_AS(run_task(kc.resolve("r.example.com", "x")), Error);
}

TEST_CASE("keychain: a missing helper warns once and the lookup goes on") {
    TempDir dir;
    ScopedEnv env;
    env.set("PATH", dir.path.c_str());
    auto cfg = dir.path / "config.json";
    write(cfg, R"({"credHelpers":{"r.example.com":"floe-missing"},"credsStore":"floe-missing",
                   "auths":{"r.example.com":{"username":"file","password":"file-pw"}}})");
    std::vector<std::string> warnings;
    SourceContext ctx;
    ctx.warn = [&](const std::string& w) { warnings.push_back(w); };
    DockerConfigKeychain kc(ctx, {cfg});
    CHECK(run_task(kc.resolve("r.example.com", "a"))->username == "file");
    CHECK_FALSE(run_task(kc.resolve("other.example.com", "a")));
    CHECK(run_task(kc.resolve("r.example.com", "b"))->username == "file");
    REQUIRE(warnings.size() == 1);
    CHECK(warnings[0].find("docker-credential-floe-missing") != std::string::npos);
}

TEST_CASE("docker_config_files: lookup order, only files that exist, no duplicates") {
    TempDir dir;
    ScopedEnv env;
    fs::create_directories(dir.path / "docker");
    fs::create_directories(dir.path / "run" / "containers");
    write(dir.path / "docker" / "config.json", "{}");
    write(dir.path / "auth.json", "{}");
    write(dir.path / "run" / "containers" / "auth.json", "{}");
    env.set("DOCKER_CONFIG", (dir.path / "docker").c_str());
    env.set("HOME", (dir.path / "home").c_str());
    env.set("REGISTRY_AUTH_FILE", (dir.path / "auth.json").c_str());
    env.set("XDG_RUNTIME_DIR", (dir.path / "run").c_str());
    auto files = docker_config_files();
    REQUIRE(files.size() == 3);
    CHECK(files[0] == dir.path / "docker" / "config.json");
    CHECK(files[1] == dir.path / "auth.json");
    CHECK(files[2] == dir.path / "run" / "containers" / "auth.json");

    env.set("REGISTRY_AUTH_FILE", (dir.path / "run" / "containers" / "auth.json").c_str());
    CHECK(docker_config_files().size() == 2);
    env.set("DOCKER_CONFIG", nullptr);
    env.set("REGISTRY_AUTH_FILE", nullptr);
    CHECK(docker_config_for_writing() == dir.path / "home" / ".docker" / "config.json");
    CHECK(docker_config_files() ==
          std::vector<fs::path>{dir.path / "run" / "containers" / "auth.json"});
}

TEST_CASE("save_login writes config.json 0600 in a 0700 directory, keeping other keys") {
    TempDir dir;
    ScopedEnv env;
    auto docker = dir.path / "new" / "docker";
    env.set("DOCKER_CONFIG", docker.c_str());
    auto old_umask = ::umask(022);
    SourceContext ctx;
    auto saved = run_task(save_login(ctx, "r.example.com:5000", basic("robot", password)));
    CHECK(saved.unencrypted);
    CHECK(saved.where == (docker / "config.json").string());
    CHECK(mode_of(docker / "config.json") == 0600);
    CHECK(mode_of(docker) == 0700);
    CHECK(mode_of(dir.path / "new") == 0700);
    auto text = read(docker / "config.json");
    CHECK(DockerConfig::parse(text, "f").lookup("r.example.com:5000")->password == password);

    // An existing file, world-readable, with other settings: replaced (not edited in place) by a
    // private one that keeps them.
    write(docker / "config.json",
          R"({"psFormat":"table","auths":{"a.example.com":{"auth":")" + auth_field + R"("}}})");
    ::chmod((docker / "config.json").c_str(), 0644);
    struct stat before {};
    ::stat((docker / "config.json").c_str(), &before);
    run_task(save_login(ctx, "r.example.com:5000", basic("robot", password)));
    struct stat after {};
    ::stat((docker / "config.json").c_str(), &after);
    CHECK(before.st_ino != after.st_ino); // renamed into place
    CHECK(mode_of(docker / "config.json") == 0600);
    auto cfg = DockerConfig::parse(read(docker / "config.json"), "f");
    CHECK(cfg.auths.size() == 2);
    CHECK(read(docker / "config.json").find("\"psFormat\": \"table\"") != std::string::npos);
    for (auto& e : fs::directory_iterator(docker))
        CHECK(e.path().filename() == "config.json"); // no temporary left behind

    ::umask(old_umask);
}

TEST_CASE("save_login through a symlinked config.json writes the target") {
    TempDir dir;
    ScopedEnv env;
    fs::create_directories(dir.path / "docker");
    fs::create_directories(dir.path / "dotfiles");
    write(dir.path / "dotfiles" / "config.json", "{}");
    fs::create_symlink(dir.path / "dotfiles" / "config.json", dir.path / "docker" / "config.json");
    env.set("DOCKER_CONFIG", (dir.path / "docker").c_str());
    run_task(save_login({}, "r.example.com", basic("robot", password)));
    CHECK(fs::is_symlink(dir.path / "docker" / "config.json"));
    CHECK(DockerConfig::parse(read(dir.path / "dotfiles" / "config.json"), "f")
              .lookup("r.example.com"));
}

TEST_CASE("save_login never replaces a file that is not JSON") {
    TempDir dir;
    ScopedEnv env;
    env.set("DOCKER_CONFIG", dir.path.c_str());
    write(dir.path / "config.json", "this is not json");
    CHECK_THROWS_AS(run_task(save_login({}, "r.example.com", basic("robot", password))), Error);
    CHECK(read(dir.path / "config.json") == "this is not json");
    CHECK_THROWS_AS(run_task(remove_login({}, "r.example.com")), Error);
    CHECK(read(dir.path / "config.json") == "this is not json");
}

TEST_CASE("save_login goes to the configured helper, not the file") {
    TempDir dir;
    ScopedEnv env;
    env.set("DOCKER_CONFIG", dir.path.c_str());
    env.set("PATH", dir.path.c_str()); // no helper there
    const std::string original = R"({"credsStore":"floe-missing"})";
    write(dir.path / "config.json", original);
    try {
        run_task(save_login({}, "r.example.com", basic("robot", password)));
        FAIL("saved without the helper");
    } catch (const Error& e) {
        CHECK(std::string(e.what()).find("docker-credential-floe-missing") != std::string::npos);
    }
    CHECK(read(dir.path / "config.json") == original); // no plaintext fallback
}

TEST_CASE("remove_login removes the registry's entries and says where from") {
    TempDir dir;
    ScopedEnv env;
    env.set("DOCKER_CONFIG", dir.path.c_str());
    SourceContext ctx;
    CHECK(run_task(remove_login(ctx, "r.example.com")).empty()); // no file at all
    write(dir.path / "config.json",
          R"({"x":true,"auths":{"https://r.example.com":{"auth":")" + auth_field +
              R"("},"r.example.com":{},"s.example.com":{"auth":")" + auth_field + R"("}}})");
    CHECK(run_task(remove_login(ctx, "r.example.com")) == (dir.path / "config.json").string());
    CHECK(mode_of(dir.path / "config.json") == 0600);
    auto text = read(dir.path / "config.json");
    CHECK(minified(text) ==
          R"({"x":true,"auths":{"s.example.com":{"auth":")" + auth_field + R"("}}})");
    CHECK(run_task(remove_login(ctx, "r.example.com")).empty()); // nothing left to remove
    CHECK(read(dir.path / "config.json") == text);
}
