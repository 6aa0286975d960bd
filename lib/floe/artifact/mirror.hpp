// Keeping a mirror in step with its registry, one tag at a time: the tag is copied only when the
// mirror does not already name the same manifest, so a second run moves nothing. Release tags
// keep their guard: a mirror whose release tag names other content is a conflict, reported,
// never overwritten.
#pragma once

#include "floe/target/target.hpp"
#include "floe/transfer/copy.hpp"

#include <string>
#include <string_view>

namespace floe::artifact {

struct TagSync {
    Descriptor manifest;
    bool copied = false; // false: the mirror already named it
    transfer::CopyStats stats;
};

// Makes `tag` in `mirror` name what it names in `source`.
Task<TagSync> sync_tag(ReadOnlyTarget& source, Target& mirror, const std::string& tag,
                       transfer::Engine& engine);

// Shell-style glob over a tag or repository name ('*', '?', '[...]'); "" matches everything.
bool matches_glob(std::string_view glob, std::string_view name);

} // namespace floe::artifact
