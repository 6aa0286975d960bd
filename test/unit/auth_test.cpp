#include "floe/auth/challenge.hpp"
#include "floe/core/error.hpp"

#include <doctest/doctest.h>

using namespace floe;
using namespace floe::auth;

TEST_CASE("bearer challenge with quoted parameters") {
    auto c = parse_challenges(
        R"(Bearer realm="https://auth.example.io/token",service="registry.example.io",scope="repository:team/app:pull,push")");
    REQUIRE(c.size() == 1);
    CHECK(c[0].scheme == "bearer");
    CHECK(c[0].param("realm") == "https://auth.example.io/token");
    CHECK(c[0].param("service") == "registry.example.io");
    CHECK(c[0].param("scope") == "repository:team/app:pull,push");
}

TEST_CASE("several challenges, odd spacing, case, escapes and token values") {
    auto c = parse_challenges(
        R"(Basic realm="floe test" , BEARER Realm = "https://a/t?x=1", error="insufficient_scope", scope=repo:a:pull, Negotiate)");
    REQUIRE(c.size() == 3);
    CHECK(c[0].scheme == "basic");
    CHECK(c[0].param("realm") == "floe test");
    CHECK(c[1].scheme == "bearer");
    CHECK(c[1].param("realm") == "https://a/t?x=1");
    CHECK(c[1].param("scope") == "repo:a:pull");
    CHECK(c[2].scheme == "negotiate");
    CHECK(parse_challenges(R"(Bearer realm="a\"b")")[0].param("realm") == "a\"b");
    CHECK(parse_challenges("").empty());
    CHECK(parse_challenges("Bearer").size() == 1);
}

TEST_CASE("scopes are merged per resource into a stable key") {
    CHECK(repository_scope("a/b", false) == "repository:a/b:pull");
    CHECK(repository_scope("a/b", true) == "repository:a/b:pull,push");
    auto merged = merge_scopes({"repository:a:pull"}, {"repository:a:push", "repository:b:pull"});
    CHECK(merged == std::vector<std::string>{"repository:a:pull,push", "repository:b:pull"});
    CHECK(merge_scopes({"repository:a:push,pull"}, {}) ==
          std::vector<std::string>{"repository:a:pull,push"});
    // a challenge may carry space-separated scopes
    CHECK(merge_scopes({}, {"repository:a:pull repository:c:pull"}).size() == 2);
}

TEST_CASE("token answers") {
    auto t = parse_token_answer(
        R"({"token":"abc","expires_in":300,"issued_at":"2026-01-01T00:00:00Z"})");
    CHECK(t.token == "abc");
    CHECK(t.expires_in == 300);
    CHECK(parse_token_answer(R"({"access_token":"xyz"})").token == "xyz");
    CHECK(parse_token_answer(R"({"access_token":"xyz"})").expires_in == 60); // spec default
    CHECK(parse_token_answer(R"({"token":"a","refresh_token":"r"})").refresh_token == "r");
    CHECK_THROWS_AS(parse_token_answer(R"({"expires_in":3})"), Error);
    CHECK_THROWS_AS(parse_token_answer("<html>"), Error);
}

#include "floe/auth/authenticator.hpp"
#include "floe/auth/chain.hpp"
#include "floe/core/base64.hpp"

#include "run_task.hpp"

#include <cstdlib>

TEST_CASE("credentials go to a token realm over https, on loopback, or on the registry's host") {
    using floe::auth::may_send_credentials;
    using floe::http::Url;
    auto registry = Url::parse("https://registry.example.com/v2/");
    CHECK(may_send_credentials(registry, Url::parse("https://auth.example.net/token")));
    CHECK(may_send_credentials(registry, Url::parse("http://127.0.0.1:5001/token")));
    CHECK(may_send_credentials(registry, Url::parse("http://localhost/token")));
    // Clear text to another host: never.
    CHECK_FALSE(may_send_credentials(registry, Url::parse("http://auth.example.net/token")));
    // The registry's own host over the plain http the user chose for it.
    auto plain = Url::parse("http://registry.internal:5000/v2/");
    CHECK(may_send_credentials(plain, Url::parse("http://registry.internal:5001/token")));
    CHECK_FALSE(may_send_credentials(plain, Url::parse("http://other.internal/token")));
}

TEST_CASE("base64 is strict both ways") {
    CHECK(floe::base64_encode("user:pa55") == "dXNlcjpwYTU1");
    CHECK(floe::base64_encode("") == "");
    CHECK(floe::base64_encode("a") == "YQ==");
    CHECK(floe::base64_decode("YQ==") == std::optional<std::string>("a"));
    CHECK(floe::base64_decode("dXNlcjpwYTU1") == std::optional<std::string>("user:pa55"));
    CHECK_FALSE(floe::base64_decode("YQ="));      // bad length
    CHECK_FALSE(floe::base64_decode("Y!=="));     // outside the alphabet
    CHECK_FALSE(floe::base64_decode("YR=="));     // non-zero leftover bits
    CHECK_FALSE(floe::base64_decode("YQ==YQ==")); // padding in the middle
    CHECK(floe::base64url_encode("\xfb\xff") == "-_8");
    CHECK(floe::base64url_decode("-_8") == std::optional<std::string>("\xfb\xff"));
    CHECK_FALSE(floe::base64url_decode("+/8"));
    for (std::string s :
         std::vector<std::string>{"", "x", "xy", "xyz", "xyzw", std::string("\0\x01\x80\xff", 4)})
        CHECK(floe::base64_decode(floe::base64_encode(s)) == std::optional<std::string>(s));
}

TEST_CASE("environment credentials answer only for the registries a call assigned") {
    ::setenv("FLOE_REGISTRY_USERNAME", "dest-user", 1);
    ::setenv("FLOE_REGISTRY_PASSWORD", "dest-pw", 1);
    ::setenv("FLOE_SOURCE_REGISTRY_USERNAME", "src-user", 1);
    ::setenv("FLOE_SOURCE_REGISTRY_PASSWORD", "src-pw", 1);
    floe::auth::EnvironmentKeychain env;
    CHECK_FALSE(env.lookup("a.example.com"));
    env.assign("src.example.com", "FLOE_SOURCE_REGISTRY");
    env.assign("dst.example.com", "FLOE_REGISTRY", true);
    CHECK(env.lookup("src.example.com")->username == "src-user");
    CHECK(env.lookup("dst.example.com")->username == "dest-user");
    CHECK_FALSE(env.lookup("other.example.com"));
    CHECK_FALSE(env.lookup("dst.example.com:5000")); // another port is another registry
    // One host as both source and destination: the reference's own variables come first.
    env.assign("both.example.com", "FLOE_SOURCE_REGISTRY");
    env.assign("both.example.com", "FLOE_REGISTRY", true);
    CHECK(env.lookup("both.example.com")->username == "dest-user");
    CHECK(env.lookup("dst.example.com")->source.find("FLOE_REGISTRY") != std::string::npos);
    for (auto* v : {"FLOE_REGISTRY_USERNAME", "FLOE_REGISTRY_PASSWORD",
                    "FLOE_SOURCE_REGISTRY_USERNAME", "FLOE_SOURCE_REGISTRY_PASSWORD"})
        ::unsetenv(v);
}

namespace {

// A source that answers, passes, or fails, and counts its calls.
class FakeSource final : public floe::auth::Keychain {
  public:
    enum Mode { answer, pass, failing, cancelled } mode;
    std::string name;
    int calls = 0;
    FakeSource(Mode m, std::string n) : mode(m), name(std::move(n)) {}
    floe::Task<std::optional<floe::Credentials>> resolve(std::string_view,
                                                         std::string_view) override {
        ++calls;
        if (mode == failing)
            floe::fail(floe::Errc::network, "credential helper docker-credential-" + name +
                                                " did not answer within 10 s");
        if (mode == cancelled)
            floe::fail(floe::Errc::cancelled, "interrupted");
        if (mode == pass)
            co_return std::nullopt;
        floe::Credentials c;
        c.username = name;
        c.source = name;
        co_return c;
    }
};

} // namespace

TEST_CASE("the chain: first answer wins, a failing source warns once and the chain goes on") {
    std::vector<std::string> warnings;
    floe::auth::SourceContext ctx;
    ctx.warn = [&](const std::string& w) { warnings.push_back(w); };
    floe::auth::ChainKeychain chain(ctx);
    auto broken = std::make_shared<FakeSource>(FakeSource::failing, "hang");
    auto empty = std::make_shared<FakeSource>(FakeSource::pass, "empty");
    auto good = std::make_shared<FakeSource>(FakeSource::answer, "good");
    auto later = std::make_shared<FakeSource>(FakeSource::answer, "later");
    chain.add(broken);
    chain.add(empty);
    chain.add(good);
    chain.add(later);
    auto first = floe::test::run_task(chain.resolve("r.example.com", "a"));
    REQUIRE(first);
    CHECK(first->source == "good");
    CHECK(later->calls == 0);
    auto second = floe::test::run_task(chain.resolve("r.example.com", "b"));
    CHECK(second->source == "good");
    REQUIRE(warnings.size() == 1); // the same failure is told once
    CHECK(warnings[0].find("docker-credential-hang") != std::string::npos);
    CHECK(warnings[0].find("next credential source") != std::string::npos);

    floe::auth::ChainKeychain stopping(ctx);
    stopping.add(std::make_shared<FakeSource>(FakeSource::cancelled, "c"));
    stopping.add(good);
    CHECK_THROWS_AS(floe::test::run_task(stopping.resolve("r.example.com", "a")), floe::Error);

    floe::auth::ChainKeychain nothing(ctx);
    nothing.add(empty);
    CHECK_FALSE(floe::test::run_task(nothing.resolve("r.example.com", "a")));
}

TEST_CASE("a token answer with a line break, a space or a control character is refused") {
    using floe::auth::parse_token_answer;
    CHECK(parse_token_answer(R"({"token":"abc.def-ghi_~+/="})").token == "abc.def-ghi_~+/=");
    for (auto* bad : {R"({"token":"a\r\nX-Injected: yes"})", R"({"token":"a\nb"})",
                      R"({"token":"a b"})", R"({"token":"a\u0000b"})", R"({"token":"\u00e9"})",
                      R"({"token":"ok","refresh_token":"r\r\nX: y"})"}) {
        CAPTURE(bad);
        CHECK_THROWS_AS(parse_token_answer(bad), floe::Error);
    }
}
