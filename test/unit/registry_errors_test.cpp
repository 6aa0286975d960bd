#include "floe/registry/errors.hpp"

#include <doctest/doctest.h>

using namespace floe;
using namespace floe::registry;

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

using Op = UploadMachine::Op;

TEST_CASE("upload machine: monolithic") {
    UploadMachine m(100, 0, true);
    CHECK(m.next().op == Op::open);
    m.opened(0);
    auto put = m.next();
    CHECK(put.op == Op::close);
    CHECK(put.body_on_close);
    CHECK(put.length == 100u);
    m.closed();
    CHECK(m.next().op == Op::done);
}

TEST_CASE("upload machine: a lost monolithic PUT starts a new session") {
    UploadMachine m(100, 0, true);
    m.opened(0);
    m.failed();
    CHECK(m.next().op == Op::open);
    CHECK_FALSE(m.progressed());
}

TEST_CASE("upload machine: streamed (digest unknown) sends one PATCH, then closes") {
    UploadMachine m(100, 0, false);
    m.opened(0);
    auto s = m.next();
    CHECK(s.op == Op::send);
    CHECK(s.offset == 0);
    CHECK(s.length == 100u);
    CHECK_FALSE(s.content_range);
    m.sent(100, false);
    auto c = m.next();
    CHECK(c.op == Op::close);
    CHECK_FALSE(c.body_on_close);
}

TEST_CASE("upload machine: chunks, a lost chunk, resume where the registry stands") {
    UploadMachine m(10, 4, true);
    m.opened(4);
    auto a = m.next();
    CHECK(a.op == Op::send);
    CHECK(a.length == 4u);
    CHECK(a.content_range);
    m.sent(4, false);
    CHECK(m.next().offset == 4);
    m.failed(); // the second chunk was cut
    CHECK(m.next().op == Op::ask);
    m.told(6); // the registry kept part of it
    CHECK(m.progressed());
    auto b = m.next();
    CHECK(b.op == Op::send);
    CHECK(b.offset == 6);
    CHECK(b.length == 4u);
    m.sent(4, false);
    CHECK(m.next().op == Op::close);
}

TEST_CASE("upload machine: a forgotten session or an impossible Range starts over") {
    UploadMachine m(10, 4, true);
    m.opened(4);
    m.sent(4, false);
    m.failed();
    m.told(std::nullopt);
    CHECK(m.next().op == Op::open);

    UploadMachine n(10, 4, true);
    n.opened(4);
    n.failed();
    n.told(9); // more than was ever sent: a lie
    CHECK(n.next().op == Op::open);
}

TEST_CASE("upload machine: a source of unknown size is sent in chunks until it ends") {
    UploadMachine m(std::nullopt, 0, false);
    m.opened(0);
    auto s = m.next();
    CHECK(s.op == Op::send);
    CHECK(s.length == unknown_size_chunk);
    CHECK(s.content_range);
    m.sent(unknown_size_chunk, false);
    CHECK(m.next().op == Op::send);
    m.sent(10, true);
    CHECK(m.next().op == Op::close);
    CHECK(m.offset() == unknown_size_chunk + 10);
}

TEST_CASE("upload machine: registry minimum chunk size wins") {
    UploadMachine m(100, 0, false);
    m.opened(effective_chunk_size(0, "64"));
    CHECK(m.next().length == 100u); // 0 asked: streamed unless demanded
    UploadMachine n(100, 16, true);
    n.opened(effective_chunk_size(16, "64"));
    CHECK(n.next().length == 64u);
}

TEST_CASE("Content-Range of a 206") {
    auto r = parse_content_range("bytes 0-99/1000");
    REQUIRE(r);
    CHECK(r->first == 0);
    CHECK(r->last == 99);
    CHECK(r->total == 1000u);
    auto star = parse_content_range("bytes 5-9/*");
    REQUIRE(star);
    CHECK_FALSE(star->total);
    CHECK_FALSE(parse_content_range("bytes 9-5/10"));
    CHECK_FALSE(parse_content_range("0-9/10"));
    CHECK_FALSE(parse_content_range("bytes 0-9"));
    CHECK_FALSE(parse_content_range("bytes -9/10"));
    CHECK_FALSE(parse_content_range("bytes 0-9/ten"));
    CHECK_FALSE(parse_content_range("bytes 0-99999999999999999999999/1"));
}

TEST_CASE("hostile numbers from a registry") {
    CHECK_FALSE(bytes_received("0-18446744073709551615")); // would overflow to 0
    CHECK(effective_chunk_size(1024, "18446744073709551615") == max_chunk_size);
    UploadMachine m(std::nullopt, 1ull << 40, false); // --chunk-size 1T, unknown length
    m.opened(1ull << 40);
    CHECK(m.next().length == max_chunk_size); // never held in memory whole
}

TEST_CASE("upload machine: a lost status check keeps where the lost chunk ended") {
    UploadMachine m(10, 4, true);
    m.opened(4);
    m.failed(); // the first chunk [0,4) was cut
    CHECK(m.next().op == Op::ask);
    m.failed(); // and the status check too
    m.told(4);  // the registry did get the whole chunk: believable, not a restart
    CHECK(m.next().op == Op::send);
    CHECK(m.next().offset == 4);
}
