#include "floe/core/digest.hpp"
#include "floe/core/error.hpp"

#include <doctest/doctest.h>

#include <vector>

using namespace floe;

TEST_CASE("sha256 and sha512 of known inputs") {
    CHECK(Digest::of("").str() ==
          "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(Digest::of("{}").str() ==
          "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
    CHECK(Digest::of("abc", DigestAlgorithm::sha512).hex().substr(0, 16) == "ddaf35a193617aba");
}

TEST_CASE("incremental hashing equals one-shot hashing") {
    Hasher h;
    h.update("hello ");
    h.update("world");
    CHECK(h.finish() == Digest::of("hello world"));
    // finish() resets: the hasher can be used again
    h.update("{}");
    CHECK(h.finish() == Digest::of("{}"));
}

TEST_CASE("digest parsing accepts exactly algorithm:lowercase-hex of the right length") {
    auto hex64 = std::string(64, 'a');
    CHECK(Digest::parse("sha256:" + hex64).hex() == hex64);
    CHECK(Digest::parse("sha512:" + std::string(128, '0')).algorithm() == DigestAlgorithm::sha512);
    for (std::string bad : std::vector<std::string>{
             "", "sha256:", "sha256:" + std::string(63, 'a'), "sha256:" + std::string(65, 'a'),
             "sha256:" + std::string(64, 'A'), "md5:" + hex64, "sha256" + hex64,
             "sha256:" + std::string(63, 'a') + "g", "sha512:" + hex64}) {
        CAPTURE(bad);
        CHECK_FALSE(Digest::is_valid(bad));
        CHECK_THROWS_AS(Digest::parse(bad), Error);
    }
}
