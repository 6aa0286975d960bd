// Keeping a mirror in step with its registry, one tag at a time: the tag is copied only when the
// mirror does not already name the same manifest, so a second run moves nothing. Release tags
// keep their guard: a mirror whose release tag names other content is a conflict, reported,
// never overwritten.
#pragma once

#include "floe/target/target.hpp"
#include "floe/transfer/copy.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace floe::artifact {

// Where a tag stands on both sides.
struct TagState {
    Descriptor source;
    std::optional<Descriptor> mirror; // nullopt: the mirror has no such tag
    bool identical() const { return mirror && mirror->digest == source.digest; }
};

// Two manifest lookups, nothing else: cheap enough to run for every tag at once.
Task<TagState> compare_tag(Resolver& source, Resolver& mirror, const std::string& tag);

// Makes `tag` in `mirror` name what `state.source` is (nothing when it already does). Returns
// the copy's figures.
Task<transfer::CopyStats> sync_tag(ReadOnlyTarget& source, Target& mirror, const std::string& tag,
                                   const TagState& state, transfer::Engine& engine);

// Shell-style glob over a tag or repository name ('*', '?', '[...]'); "" matches everything.
bool matches_glob(std::string_view glob, std::string_view name);

} // namespace floe::artifact
