#include "floe/core/descriptor.hpp"
#include "floe/core/error.hpp"
#include "floe/core/json_writer.hpp"
#include "floe/core/media_types.hpp"

#include <doctest/doctest.h>

using namespace floe;

namespace {
const std::string d1 = "sha256:" + std::string(64, '1');
const std::string d2 = "sha256:" + std::string(64, '2');

std::string sample_manifest() {
    return R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json",)"
           R"("artifactType":"application/x-thing","config":{"mediaType":"application/vnd.oci.empty.v1+json",)"
           R"("digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},)"
           R"("layers":[{"mediaType":"application/x-a","digest":")" +
           d1 +
           R"(","size":10,)"
           R"("annotations":{"org.opencontainers.image.title":"a.txt"}}],)"
           R"("annotations":{"k":"v","unknown":"\u00e9"}})";
}
} // namespace

TEST_CASE("parse an OCI artifact manifest") {
    auto m = parse_manifest(sample_manifest());
    CHECK(m.media_type == media_type::oci_manifest);
    CHECK(m.artifact_type == "application/x-thing"); // unknown artifact types are fine
    CHECK(m.config == empty_config_descriptor());
    REQUIRE(m.layers.size() == 1);
    CHECK(m.layers[0].title() == "a.txt");
    CHECK(m.layers[0].size == 10);
    CHECK(m.annotations.at("k") == "v");
}

TEST_CASE("serialisation is deterministic and parses back to the same values") {
    auto m = parse_manifest(sample_manifest());
    auto bytes = serialize(m);
    CHECK(bytes == serialize(parse_manifest(bytes)));
    auto again = parse_manifest(bytes);
    CHECK(again.layers == m.layers);
    CHECK(again.annotations == m.annotations);
    // field order is fixed: schemaVersion first, annotations sorted
    CHECK(bytes.rfind(R"({"schemaVersion":2,"mediaType":)", 0) == 0);
    CHECK(bytes.find(R"("annotations":{"k":"v","unknown":)") != std::string::npos);
}

TEST_CASE("parse an index and sniff media types") {
    std::string idx =
        R"({"schemaVersion":2,"manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":")" +
        d2 + R"(","size":3,"platform":{"os":"linux"}}]})";
    auto i = parse_index(idx);
    REQUIRE(i.manifests.size() == 1);
    CHECK(i.manifests[0].digest.str() == d2);
    CHECK(sniff_media_type(idx) == media_type::oci_index);
    CHECK(sniff_media_type(sample_manifest()) == media_type::oci_manifest);
}

TEST_CASE("malformed manifests are protocol errors naming the field") {
    auto expect = [](const std::string& json, const std::string& fragment) {
        CAPTURE(json);
        try {
            parse_manifest(json);
            FAIL("parsed");
        } catch (const Error& e) {
            CHECK(e.errc() == Errc::protocol);
            CHECK(std::string(e.what()).find(fragment) != std::string::npos);
        }
    };
    expect("not json", "not valid JSON");
    expect("[]", "not an object");
    expect(R"({"schemaVersion":1})", "schemaVersion");
    expect(R"({"schemaVersion":2})", "config");
    expect(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":"sha256:zz","size":1}})",
           "digest");
    expect(R"({"schemaVersion":2,"config":{"mediaType":"x","digest":")" + d1 + R"(","size":-1}})",
           "size");
    expect(
        R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","config":{}})",
        "not an image manifest");
}

TEST_CASE("manifests over 4 MiB are refused") {
    std::string huge(max_manifest_bytes + 1, ' ');
    CHECK_THROWS_AS(parse_manifest(huge), Error);
}

TEST_CASE("json writer escapes") {
    std::string out;
    json::append_string(out, "a\"b\\c\n\x01");
    CHECK(out == R"("a\"b\\c\n\u0001")");
    json::Writer w;
    w.begin_object()
        .key("a")
        .value(1)
        .key("b")
        .begin_array()
        .value("x")
        .value(true)
        .end_array()
        .end_object();
    CHECK(w.str() == R"({"a":1,"b":["x",true]})");
}

TEST_CASE("a document that is both a manifest and an index is refused (CVE-2021-41190)") {
    std::string both =
        R"({"schemaVersion":2,"config":{"mediaType":"application/vnd.oci.empty.v1+json","digest":"sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a","size":2},"layers":[],"manifests":[]})";
    CHECK_THROWS_AS(parse_manifest(both), Error);
    CHECK_THROWS_AS(parse_index(both), Error);
    CHECK(sniff_media_type(both).empty());
}
