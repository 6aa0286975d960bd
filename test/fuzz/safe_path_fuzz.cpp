// Fuzzes the tar/title name check floe::artifact::check_relative_name with the raw name.
//
// Invariants (abort on violation):
//  - it either returns or throws floe::Error(unsafe_path);
//  - an accepted name is non-empty, has no ".." component, no "." component, does not start
//    with '/', and contains no NUL and no backslash;
//  - a plainly safe name (components of [A-Za-z0-9_-] plus inner dots, not "." or "..", joined
//    by single '/', no leading or trailing '/') is accepted: the check must not refuse
//    ordinary artifacts.
#include "fuzz_check.hpp"

#include "floe/artifact/safe_path.hpp"
#include "floe/core/error.hpp"

#include <cstddef>
#include <cstdint>
#include <string_view>

using floe_fuzz::printable;

namespace {

bool has_component(std::string_view name, std::string_view comp) {
    std::size_t start = 0;
    while (true) {
        auto slash = name.find('/', start);
        if (name.substr(start, slash == std::string_view::npos ? name.npos : slash - start) == comp)
            return true;
        if (slash == std::string_view::npos)
            return false;
        start = slash + 1;
    }
}

bool plainly_safe(std::string_view name) {
    if (name.empty() || name.front() == '/' || name.back() == '/')
        return false;
    std::size_t start = 0;
    while (true) {
        auto slash = name.find('/', start);
        auto comp = name.substr(start, slash == std::string_view::npos ? name.npos : slash - start);
        if (comp.empty() || comp.front() == '.' || comp.back() == '.')
            return false; // ".", "..", ".hidden" and "x." left to the real check
        for (char c : comp)
            if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '-' || c == '.'))
                return false;
        if (slash == std::string_view::npos)
            return true;
        start = slash + 1;
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view name(reinterpret_cast<const char*>(data), size);
    bool accepted = true;
    try {
        floe::artifact::check_relative_name(name, "tar entry");
    } catch (const floe::Error& e) {
        FUZZ_CHECK(e.errc() == floe::Errc::unsafe_path,
                   "another error kind for '" + printable(name) + "': " + e.what());
        accepted = false;
    }
    if (accepted) {
        const auto n = "accepted '" + printable(name) + "'";
        FUZZ_CHECK(!name.empty(), n);
        FUZZ_CHECK(name.front() != '/', n);
        FUZZ_CHECK(name.find('\0') == std::string_view::npos, n);
        FUZZ_CHECK(name.find('\\') == std::string_view::npos, n);
        FUZZ_CHECK(!has_component(name, ".."), n);
        FUZZ_CHECK(!has_component(name, "."), n);
    }
    if (plainly_safe(name))
        FUZZ_CHECK(accepted, "refused the ordinary name '" + printable(name) + "'");
    return 0;
}
