#include "floe/artifact/mirror.hpp"

#include "floe/artifact/release_guard.hpp"
#include "floe/core/error.hpp"

#include <fnmatch.h>

namespace floe::artifact {

Task<TagSync> sync_tag(ReadOnlyTarget& source, Target& mirror, const std::string& tag,
                       transfer::Engine& engine) {
    TagSync sync;
    sync.manifest = co_await source.resolve(tag);
    std::optional<Descriptor> there;
    try {
        there = co_await mirror.resolve(tag);
    } catch (const Error& e) {
        if (e.errc() != Errc::not_found)
            throw;
    }
    if (there && there->digest == sync.manifest.digest)
        co_return sync; // identical: not one blob is looked at
    if (there) {
        // A release tag that names other content on the mirror stays as it is (conflict).
        auto release = co_await existing_release(mirror, tag);
        co_await release_already_pushed(mirror, tag, release, sync.manifest, nullptr);
    }
    sync.stats = co_await engine.copy(source, mirror, sync.manifest, tag);
    sync.copied = true;
    co_return sync;
}

bool matches_glob(std::string_view glob, std::string_view name) {
    if (glob.empty())
        return true;
    // fnmatch needs terminated strings; names and globs are short.
    std::string g(glob), n(name);
    return ::fnmatch(g.c_str(), n.c_str(), 0) == 0;
}

} // namespace floe::artifact
