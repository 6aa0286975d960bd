#include "floe/registry/errors.hpp"

#include <doctest/doctest.h>

using namespace floe;
using namespace floe::registry;
using namespace std::chrono_literals;

TEST_CASE("error bodies from the distribution spec") {
    auto e = parse_error_body(
        R"({"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]})");
    REQUIRE(e.size() == 1);
    CHECK(e[0].code == "MANIFEST_UNKNOWN");
    CHECK(e[0].message == "manifest unknown");
    CHECK(parse_error_body("").empty());
    CHECK(parse_error_body("<html>bad gateway</html>").empty());
    CHECK(parse_error_body(R"({"errors":"x"})").empty());
}

TEST_CASE("status and codes classify into actionable errors") {
    CHECK(classify_status(404, {}) == Errc::not_found);
    CHECK(classify_status(401, {}) == Errc::unauthorized);
    CHECK(classify_status(403, {}) == Errc::denied);
    CHECK(classify_status(503, {}) == Errc::registry);
    CHECK(classify_status(429, {}) == Errc::registry);
    CHECK(classify_status(400, {{"DIGEST_INVALID", ""}}) == Errc::verification_failed);
    CHECK(classify_status(400, {{"NAME_UNKNOWN", ""}}) == Errc::not_found);
    CHECK(classify_status(400, {{"MANIFEST_INVALID", ""}}) == Errc::protocol);
    CHECK(classify_status(400, {}) == Errc::protocol);
}

TEST_CASE("retry classifier") {
    for (int s : {408, 429, 500, 502, 503, 504})
        CHECK(is_retryable_status(s));
    for (int s : {200, 201, 400, 401, 403, 404, 405, 416})
        CHECK_FALSE(is_retryable_status(s));
}

TEST_CASE("retry delay: backoff grows, jitter stays bounded, Retry-After wins, cap holds") {
    for (int i = 0; i < 50; ++i) {
        auto d1 = retry_delay(1, std::nullopt);
        CHECK(d1 >= 200ms);
        CHECK(d1 <= 300ms);
        auto d3 = retry_delay(3, std::nullopt);
        CHECK(d3 >= 800ms);
        CHECK(d3 <= 1200ms);
    }
    CHECK(retry_delay(1, "7") == 7000ms);
    CHECK(retry_delay(1, "0") == 0ms);
    CHECK(retry_delay(1, "9999", 30s) == 30s);
    CHECK(retry_delay(20, std::nullopt, 5s) == 5s);
    CHECK(retry_delay(1, "Wed, 21 Oct 2015 07:28:00 GMT") == 0ms); // in the past
    auto garbage = retry_delay(1, "soon");
    CHECK(garbage >= 200ms); // falls back to backoff
}

#include "floe/registry/upload_policy.hpp"

TEST_CASE("upload chunk size honours OCI-Chunk-Min-Length") {
    CHECK(effective_chunk_size(0, std::nullopt) == 0);
    CHECK(effective_chunk_size(4 << 20, std::nullopt) == 4u << 20);
    CHECK(effective_chunk_size(1024, "5242880") == 5242880);
    CHECK(effective_chunk_size(8 << 20, "5242880") == 8u << 20);
    CHECK(effective_chunk_size(1024, "garbage") == 1024);
}

TEST_CASE("bytes the registry holds, from its Range header") {
    CHECK(bytes_received(std::nullopt) == 0);
    CHECK(bytes_received("0-1023") == 1024);
    CHECK(bytes_received("bytes=0-1023") == 1024);
    CHECK(bytes_received("0-0") == 0); // distribution's answer for an empty session
    CHECK_FALSE(bytes_received("5-10"));
    CHECK_FALSE(bytes_received("abc"));
    CHECK_FALSE(bytes_received("0-"));
    CHECK_FALSE(bytes_received("10-5"));
}
