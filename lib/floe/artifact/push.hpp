// Pushing a packed artifact: large new files are sent while hashed (through the engine), the
// release-tag rule is applied, then the artifact is copied into the destination like any other
// graph. The facade only wires this.
#pragma once

#include "floe/artifact/pack.hpp"
#include "floe/transfer/copy.hpp"

#include <string>
#include <vector>

namespace floe::artifact {

struct PushOutcome {
    Descriptor manifest;
    std::uint64_t blobs_pushed = 0;
    std::uint64_t blobs_skipped = 0;
    std::uint64_t bytes_pushed = 0;
    bool unchanged = false; // every tag already named this content: nothing was sent
};

// Pushes `packed` and points every one of `tags` at it (at least one). Where the tags stand is
// looked up first: a release tag naming other content fails the push before anything is sent
// (Errc::conflict); when a tag already names the same content (a push of unchanged files, at
// another time), nothing is uploaded and that manifest is reused, so re-pushing is a no-op
// costing two requests. Otherwise blobs go first, then the manifest under the first tag, then
// the same manifest bytes under each other tag.
Task<PushOutcome> push_artifact(PackedArtifact& packed, Target& dst,
                                const std::vector<std::string>& tags, transfer::Engine& engine);

} // namespace floe::artifact
