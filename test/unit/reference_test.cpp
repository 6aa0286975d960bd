#include "floe/core/error.hpp"
#include "floe/core/reference.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace floe;

const std::string hex64(64, 'b');

TEST_CASE("registry references") {
    auto r = Reference::parse("registry.example.com:5000/team/product:1.2.3");
    CHECK(r.kind == Reference::Kind::registry);
    CHECK(r.registry == "registry.example.com:5000");
    CHECK(r.repository == "team/product");
    CHECK(r.tag == "1.2.3");
    CHECK_FALSE(r.digest);
    CHECK(r.selector() == "1.2.3");

    auto d = Reference::parse("oci://localhost/a/b@sha256:" + hex64);
    CHECK(d.registry == "localhost");
    CHECK(d.repository == "a/b");
    CHECK(d.tag.empty());
    CHECK(d.selector() == "sha256:" + hex64);

    auto both = Reference::parse("127.0.0.1:5000/x:dev@sha256:" + hex64);
    CHECK(both.tag == "dev");
    CHECK(both.selector() == "sha256:" + hex64); // the digest wins
    CHECK(Reference::parse("host.io/x").selector() == "latest");
}

TEST_CASE("docker hub normalisation") {
    auto r = Reference::parse("alpine:3.19");
    CHECK(r.registry == "docker.io");
    CHECK(r.repository == "library/alpine");
    CHECK(r.api_host() == "registry-1.docker.io");
    CHECK(Reference::parse("team/app").repository == "team/app");
    CHECK(Reference::parse("index.docker.io/team/app").registry == "docker.io");
    CHECK(Reference::parse("docker.io/alpine").repository == "library/alpine");
    CHECK(Reference::parse("docker://alpine").repository == "library/alpine");
}

TEST_CASE("layout references") {
    auto r = Reference::parse("ocidir://./out/store:v1");
    CHECK(r.is_layout());
    CHECK(r.path == "./out/store");
    CHECK(r.tag == "v1");
    auto abs = Reference::parse("ocidir:///tmp/x@sha256:" + hex64);
    CHECK(abs.path == "/tmp/x");
    CHECK(abs.digest);
    CHECK(Reference::parse("ocidir://dir").tag.empty());
    CHECK(Reference::parse("ocidir://a:b/c").path == "a:b/c"); // a ':' before the last '/'
}

TEST_CASE("str() round-trips") {
    for (std::string text :
         std::vector<std::string>{"registry.example.com:5000/team/product:1.2.3",
                                  "ocidir://./store:dev", "localhost/a@sha256:" + hex64}) {
        CAPTURE(text);
        CHECK(Reference::parse(Reference::parse(text).str()).str() == Reference::parse(text).str());
    }
}

TEST_CASE("malformed references fail with invalid_reference") {
    for (std::string bad : std::vector<std::string>{
             "", "host.io/Upper/case", "host.io/x:a+b", "host.io/x@sha256:123",
             "host.io/x:", "ftp://host/x", "host.io/-x", "host.io/x//y",
             "host.io/x:" + std::string(129, 'a'), "ocidir://", "ocidir://:tag", "host.io:port/x",
             "127.0.0.1:5000", "localhost:5000", "oci://registry.example.com"}) {
        CAPTURE(bad);
        try {
            Reference::parse(bad);
            FAIL("parsed");
        } catch (const Error& e) {
            CHECK(e.errc() == Errc::invalid_reference);
            CHECK(std::string(e.what()).find('\n') == std::string::npos);
        }
    }
}

TEST_CASE("registry hosts are real host names (fuzzer findings)") {
    for (auto text :
         {"../x", "./x", "-.-/x", "a..b/x", "[a b]:99/x", "[x]:/x", "h:99999/x", "h:0/x"}) {
        CAPTURE(text);
        CHECK_THROWS_AS(Reference::parse(std::string(text) + ":1"), Error);
    }
    CHECK(Reference::parse("[::1]:5000/x:1").registry == "[::1]:5000");
    CHECK(Reference::parse("my-registry.example.com:65535/x:1").registry ==
          "my-registry.example.com:65535");
}

TEST_CASE("tag and repository grammar") {
    CHECK(is_valid_tag("v1.2.3-rc.1"));
    CHECK(is_valid_tag("_x"));
    CHECK_FALSE(is_valid_tag(".x"));
    CHECK_FALSE(is_valid_tag("-x"));
    CHECK_FALSE(is_valid_tag("1.2.3+build"));
    CHECK(is_valid_tag(std::string(128, 'a')));
    CHECK_FALSE(is_valid_tag(std::string(129, 'a')));
    CHECK(is_valid_repository("a/b-c/d__e/f.g"));
    CHECK(is_valid_repository("a---b"));
    CHECK_FALSE(is_valid_repository("a___b"));
    CHECK_FALSE(is_valid_repository("a/"));
    CHECK_FALSE(is_valid_repository("a.-b"));
}

TEST_CASE("semver build metadata becomes a legal tag") {
    CHECK(legal_tag("1.2.3+build.5") == "1.2.3_build.5");
    CHECK(legal_tag("v1.2.3-rc.1+sha.abc-1") == "v1.2.3-rc.1_sha.abc-1");
    CHECK(Reference::parse("r.example.com/app:1.2.3+build.5").tag == "1.2.3_build.5");
    // Anything else is left as it was (and the grammar then refuses it).
    for (auto t : {"dev", "1.2+x", "1..3+x", "a.b.c+x", "1.2.3+", "1.2.3+a+b", "1.2.3+.x",
                   "1.2.3+x.", "1.2.3+x_y", "+x", "1.2.3"})
        CHECK(legal_tag(t) == t);
    CHECK_THROWS_AS(Reference::parse("r.example.com/app:dev+x"), Error);
}
