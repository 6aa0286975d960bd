// Fuzzes the Link-header parser floe::registry::next_link with the raw header value.
//
// Invariants (abort on violation): next_link never throws; when it returns a target, the target
// is non-empty, contains no '>', and appears in the header exactly as "<target>".
#include "fuzz_check.hpp"

#include "floe/registry/paging.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

using floe_fuzz::printable;

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view header(reinterpret_cast<const char*>(data), size);
    auto next = floe::registry::next_link(header);
    if (!next)
        return 0;
    FUZZ_CHECK(!next->empty(), "an empty target from '" + printable(header) + "'");
    FUZZ_CHECK(next->find('>') == std::string::npos,
               "target '" + printable(*next) + "' from '" + printable(header) + "'");
    FUZZ_CHECK(header.find("<" + *next + ">") != std::string_view::npos,
               "target '" + printable(*next) + "' is not in '" + printable(header) + "'");
    return 0;
}
