#include "floe/core/error.hpp"
#include "floe/http/url.hpp"

#include <doctest/doctest.h>

using namespace floe;
using namespace floe::http;

TEST_CASE("parse absolute URLs") {
    auto u = Url::parse("https://registry.example.io/v2/?x=1");
    CHECK(u.scheme == "https");
    CHECK(u.host == "registry.example.io");
    CHECK(u.port == "443");
    CHECK(u.target == "/v2/?x=1");
    CHECK(u.origin() == "https://registry.example.io:443");
    CHECK(u.str() == "https://registry.example.io/v2/?x=1");
    auto p = Url::parse("http://127.0.0.1:5000");
    CHECK(p.port == "5000");
    CHECK(p.target == "/");
    CHECK(p.host_header() == "127.0.0.1:5000");
    CHECK(Url::parse("http://[::1]:5000/v2/").host == "::1");
    CHECK(Url::parse("http://[::1]:5000/v2/").host_header() == "[::1]:5000");
    CHECK_THROWS_AS(Url::parse("ftp://x/"), Error);
    CHECK_THROWS_AS(Url::parse("/relative"), Error);
    CHECK_THROWS_AS(Url::parse("https://user:pw@host/"), Error);
}

TEST_CASE("resolve Location headers, keeping their query state") {
    auto base = Url::parse("https://r.io:5000/v2/a/blobs/uploads/");
    auto rel = base.resolve("/v2/a/blobs/uploads/uuid?_state=abc");
    CHECK(rel.str() == "https://r.io:5000/v2/a/blobs/uploads/uuid?_state=abc");
    auto abs = base.resolve("https://s3.example.com/bucket/x?X-Amz-Signature=s");
    CHECK(abs.host == "s3.example.com");
    CHECK(abs.origin() != base.origin());
    auto rel2 = base.resolve("uuid2");
    CHECK(rel2.target == "/v2/a/blobs/uploads/uuid2");
}

TEST_CASE("add_query percent-encodes") {
    auto u = Url::parse("https://r.io/v2/a/blobs/uploads/u?_state=x");
    u.add_query("digest", "sha256:ab");
    CHECK(u.target == "/v2/a/blobs/uploads/u?_state=x&digest=sha256%3Aab");
}

TEST_CASE("redaction removes signatures, tokens and upload state") {
    auto u = Url::parse(
        "https://s3.io/b/k?X-Amz-Signature=secret&X-Amz-Credential=AKIA&digest=sha256:1&_state=st");
    auto r = redact(u);
    CHECK(r.find("secret") == std::string::npos);
    CHECK(r.find("AKIA") == std::string::npos);
    CHECK(r.find("st&") == std::string::npos);
    CHECK(r.find("digest=sha256:1") != std::string::npos);
    CHECK(redact(Url::parse("https://r.io/v2/")) == "https://r.io/v2/");
}

TEST_CASE("loopback detection") {
    CHECK(is_loopback_host("127.0.0.1"));
    CHECK(is_loopback_host("127.3.2.1"));
    CHECK(is_loopback_host("localhost"));
    CHECK(is_loopback_host("::1"));
    CHECK_FALSE(is_loopback_host("10.0.0.1"));
    CHECK_FALSE(is_loopback_host("127.example.com")); // a name, not an address
}

TEST_CASE("URLs a registry hands back: the one check (fuzzer findings included)") {
    auto base = Url::parse("https://r.example/v2/a/blobs/uploads/");
    CHECK(base.follow("/v2/a/blobs/uploads/x?_state=1").str() ==
          "https://r.example/v2/a/blobs/uploads/x?_state=1");
    auto code = [&](const char* location) {
        try {
            base.follow(location);
        } catch (const Error& e) {
            return e.errc();
        }
        return Errc::ok;
    };
    CHECK(code("http://r.example/x") == Errc::protocol); // downgrade
    CHECK(code("file:///etc/passwd") == Errc::protocol); // not http(s)
    CHECK(code("//h:/x") == Errc::protocol);             // empty port
    CHECK(code("http://h:1p") == Errc::protocol);        // a path without '/'
    CHECK(code("https://r.io:443evil/x") == Errc::protocol);
    CHECK(code("//[v1.:]/") == Errc::protocol); // IPvFuture
    CHECK(Url::parse("http://h/").follow("http://other/").host == "other");
}

TEST_CASE("loopback means a real dotted quad") {
    CHECK_FALSE(is_loopback_host("127..."));
    CHECK_FALSE(is_loopback_host("127.0.0.999"));
    CHECK_FALSE(is_loopback_host("127.0.0.1.evil"));
    CHECK(is_loopback_host("127.255.255.254"));
}
