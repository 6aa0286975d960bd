#include "floe/core/digest.hpp"
#include "floe/core/error.hpp"

#include <doctest/doctest.h>

using namespace floe;

TEST_CASE("sha256 of known input") {
    CHECK(Digest::of("").str() == "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    CHECK(Digest::of("{}").str() == "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
}
