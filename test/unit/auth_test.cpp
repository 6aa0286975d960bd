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
