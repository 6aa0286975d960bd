#include "floe/registry/paging.hpp"

#include <doctest/doctest.h>

using floe::registry::next_link;

TEST_CASE("Link: the rel=next target, as the registry wrote it") {
    CHECK(next_link(R"(</v2/a/tags/list?n=2&last=b>; rel="next")") == "/v2/a/tags/list?n=2&last=b");
    CHECK(next_link(R"(<https://r.example/v2/a/tags/list?last=b>;rel=next)") ==
          "https://r.example/v2/a/tags/list?last=b");
    CHECK(next_link(R"(</p>; rel="prev", </n>; rel="next")") == "/n");
    CHECK(next_link(R"(</n>; title="a, b; c"; rel="next")") == "/n"); // quoted separators
    CHECK(next_link(R"(</n>; REL="Next")") == "/n");
    CHECK(next_link(R"(</n>; rel="prev next")") == "/n");
}

TEST_CASE("Link: no next, or nonsense") {
    CHECK_FALSE(next_link(""));
    CHECK_FALSE(next_link(R"(</p>; rel="prev")"));
    CHECK_FALSE(next_link(R"(</n; rel="next")"));
    CHECK_FALSE(next_link(R"(<>; rel="next")"));
    CHECK_FALSE(next_link(R"(/n; rel="next")"));
    CHECK_FALSE(next_link(R"(</n>; rel="nextpage")"));
}
