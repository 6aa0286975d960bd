#include "floe/artifact/compiled_artifacts.hpp"
#include "floe/artifact/safe_path.hpp"
#include "floe/artifact/tag_policy.hpp"
#include "floe/core/error.hpp"

#include <doctest/doctest.h>

#include <filesystem>
#include <unistd.h>

using namespace floe;
using namespace floe::artifact;

TEST_CASE("compiled_artifacts.json: valid product") {
    auto info = validate_compiled_artifacts(
        R"({"version":"0.3.0","metadata":{"product_name":"sales","product_version":"1.4.0"},"x":[]})",
        "f.json");
    CHECK(info.name == "sales");
    CHECK(info.version == "1.4.0");
    CHECK(info.artifacts_version == "0.3.0");
    CHECK(validate_compiled_artifacts(
              R"({"version":3,"metadata":{"product_name":"a","product_version":"1"}})", "f")
              .artifacts_version == "3");
}

TEST_CASE("compiled_artifacts.json: each defect is named") {
    auto expect = [](const std::string& json, const std::string& fragment) {
        CAPTURE(json);
        try {
            validate_compiled_artifacts(json, "target/compiled_artifacts.json");
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.errc() == Errc::invalid_artifact);
            std::string what = e.what();
            CHECK(what.find(fragment) != std::string::npos);
            CHECK(what.find("target/compiled_artifacts.json") != std::string::npos);
        }
    };
    expect("{", "not valid JSON");
    expect("[1]", "JSON object");
    expect(R"({"metadata":{"product_name":"a","product_version":"1"}})", "\"version\"");
    expect(R"({"version":"1"})", "\"metadata\"");
    expect(R"({"version":"1","metadata":[]})", "must be an object");
    expect(R"({"version":"1","metadata":{"product_version":"1"}})", "metadata.product_name");
    expect(R"({"version":"1","metadata":{"product_name":"a"}})", "metadata.product_version");
    expect(R"({"version":"1","metadata":{"product_name":"","product_version":"1"}})",
           "metadata.product_name");
    expect(R"({"version":null,"metadata":{"product_name":"a","product_version":"1"}})",
           "\"version\"");
}

TEST_CASE("layer titles that would escape are refused") {
    for (std::string ok : std::vector<std::string>{"a.txt", "dir/a.txt", "compiled_artifacts.json",
                                                   "a..b", ".hidden"})
        CHECK_NOTHROW(check_relative_name(ok, "title"));
    for (std::string bad :
         std::vector<std::string>{"", "/etc/passwd", "..", "../x", "a/../../b", "a/..", "a\\b",
                                  "a//b", ".", "./a", std::string("a\0b", 3)}) {
        CAPTURE(bad);
        try {
            check_relative_name(bad, "layer title");
            FAIL("accepted");
        } catch (const Error& e) {
            CHECK(e.errc() == Errc::unsafe_path);
        }
    }
}

TEST_CASE("safe_join refuses paths through a symlink") {
    namespace fs = std::filesystem;
    auto root = fs::temp_directory_path() / ("floe-safe-" + std::to_string(::getpid()));
    fs::remove_all(root);
    fs::create_directories(root / "real");
    fs::create_directory_symlink("/tmp", root / "link");
    CHECK(safe_join(root, "real/x", "t") == root / "real/x");
    CHECK_THROWS_AS(safe_join(root, "link/x", "t"), Error);
    CHECK_THROWS_AS(safe_join(root, "link", "t"), Error);
    fs::remove_all(root);
}

TEST_CASE("tag policy: releases are immutable, environments move") {
    for (auto t : {"1.2.3", "v1.2.3", "0.0.1", "1.2.3-rc.1", "10.20.30-alpha-2", "1.2.3_build.5",
                   "1.2.3-rc.1_sha.abc"}) { // "_": build metadata
        CAPTURE(t);
        CHECK(is_semver_tag(t));
        CHECK(is_immutable_tag(t));
    }
    for (auto t : {"latest", "dev", "staging", "prod", "1.2.3-prod", "v1.2.3-staging", "main",
                   "1.2", "01.2.3", "1.2.3.4", "1.2.3-", "1.2.3-rc..1", "sha-abc", "1.2.3_",
                   "1.2.3_a..b", "x_1.2.3"}) {
        CAPTURE(t);
        CHECK_FALSE(is_immutable_tag(t));
    }
    CHECK(is_environment_tag("1.2.3-prod"));
    CHECK_FALSE(is_environment_tag("feature-prod")); // not <semver>-<env>
}
