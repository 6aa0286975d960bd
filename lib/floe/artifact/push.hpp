// Pushing a packed artifact: large new files are sent while hashed (through the engine), the
// release-tag rule is applied, then the artifact is copied into the destination like any other
// graph. The facade only wires this.
#pragma once

#include "floe/artifact/pack.hpp"
#include "floe/transfer/copy.hpp"

#include <string>

namespace floe::artifact {

struct PushOutcome {
    Descriptor manifest;
    std::uint64_t blobs_pushed = 0;
    std::uint64_t blobs_skipped = 0;
    std::uint64_t bytes_pushed = 0;
};

Task<PushOutcome> push_artifact(PackedArtifact& packed, Target& dst, const std::string& tag,
                                transfer::Engine& engine);

} // namespace floe::artifact
