#include "floe/artifact/mirror.hpp"

#include "floe/artifact/release_guard.hpp"
#include "floe/core/error.hpp"

#include <fnmatch.h>

namespace floe::artifact {

Task<TagState> compare_tag(Resolver& source, Resolver& mirror, const std::string& tag) {
    TagState state;
    state.source = co_await source.resolve(tag);
    try {
        state.mirror = co_await mirror.resolve(tag);
    } catch (const Error& e) {
        if (e.errc() != Errc::not_found)
            throw;
    }
    co_return state;
}

Task<transfer::CopyStats> sync_tag(ReadOnlyTarget& source, Target& mirror, const std::string& tag,
                                   const TagState& state, transfer::Engine& engine) {
    if (state.identical())
        co_return transfer::CopyStats{}; // not one blob is looked at
    if (state.mirror) {
        // A release tag that names other content on the mirror stays as it is (conflict).
        auto release = co_await existing_release(mirror, tag);
        co_await release_already_pushed(mirror, tag, release, state.source, nullptr);
    }
    co_return co_await engine.copy(source, mirror, state.source, tag);
}

bool matches_glob(std::string_view glob, std::string_view name) {
    if (glob.empty())
        return true;
    // fnmatch needs terminated strings; names and globs are short.
    std::string g(glob), n(name);
    return ::fnmatch(g.c_str(), n.c_str(), 0) == 0;
}

} // namespace floe::artifact
