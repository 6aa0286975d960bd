// The release-tag rule (tag_policy.hpp) applied to a destination, for push and copy alike: a
// release tag that already names other content is a conflict; one that names the same content
// makes the push a no-op.
#pragma once

#include "floe/target/target.hpp"

#include <optional>
#include <string>

namespace floe::artifact {

// Same config, same layers (digest, type, title), same artifact type and same annotations
// apart from the creation time: a push of the same files at another moment.
bool same_content(const Manifest& a, const Manifest& b);

// What `tag` names in `dst` now, release or not; nullopt when it names nothing.
Task<std::optional<Descriptor>> existing_tag(Resolver& dst, const std::string& tag);

// What a release tag already names in `dst`: nothing for environment tags or a tag not there
// yet. One lookup serves both the one-pass upload decision and the release rule.
Task<std::optional<Descriptor>> existing_release(Resolver& dst, const std::string& tag);

// Throws Errc::conflict when `existing` (the release tag's current manifest) is other content
// than `incoming`. Returns `existing` when it already holds this content (nothing to do); `ours`
// lets a push of the same files with a new created time count as the same content.
Task<std::optional<Descriptor>> release_already_pushed(Target& dst, const std::string& tag,
                                                       const std::optional<Descriptor>& existing,
                                                       const Descriptor& incoming,
                                                       const Manifest* ours);

} // namespace floe::artifact
