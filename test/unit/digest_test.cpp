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

#include "floe/core/printable.hpp"

TEST_CASE("printable: control characters escaped, UTF-8 kept, C1 escaped") {
    using floe::printable;
    CHECK(printable("plain text") == "plain text");
    CHECK(printable("a\x1b[2Kb") == "a\\x1b[2Kb");
    CHECK(printable("bell\x07\r\n") == "bell\\x07\\x0d\\x0a");
    CHECK(printable("größe") == "größe");
    CHECK(printable("\xc2\x9b"
                    "31m") == "\\xc2\\x9b31m"); // C1 CSI as UTF-8
    CHECK(printable("\xff") == "\\xff");
    CHECK(printable("\x7f") == "\\x7f");
}

TEST_CASE("secrets and signed URLs are redacted wherever they appear") {
    floe::remember_secret("hunter2-password");
    floe::remember_secret("abc"); // too short to redact safely: ignored
    CHECK(floe::redact_secrets("denied: user:hunter2-password!") == "denied: user:<redacted>!");
    CHECK(floe::redact_secrets("abc") == "abc");
    CHECK(floe::redact_urls("see https://s3/x?X-Amz-Signature=SIG&digest=sha256:1 now") ==
          "see https://s3/x?X-Amz-Signature=<redacted>&digest=sha256:1 now");
    // Already redacted text stays as it is.
    auto once = floe::redact_urls("https://s3/x?a=1&b=2");
    CHECK(floe::redact_urls(once) == once);
    CHECK(floe::scrub("\x1b]0;t\x07 https://h/p?token=T") ==
          "\\x1b]0;t\\x07 https://h/p?token=<redacted>");
}
