// Receiving one blob of known digest into a partial file: continue from the bytes a previous
// (cut or killed) transfer left, or fetch a large blob as concurrent ranges, hash everything,
// and report whether the content is right. The layout store's write path.
#pragma once

#include "floe/layout/atomic_file.hpp"
#include "floe/target/target.hpp"

namespace floe::layout {

// Fills `file` with `blob` from `source` and verifies it. Throws verification_failed (the file
// is discarded) or the source's error (the file keeps its bytes for a later run).
Task<void> receive_blob(BlobSource& source, const Descriptor& blob, PartialFile& file,
                        std::string_view where);

} // namespace floe::layout
