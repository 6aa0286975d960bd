// Downloading one blob into a PartialFile: continues from the bytes a previous run left, resumes
// after lost connections (through the Session's reader), and verifies size and digest of the
// whole before anyone may use it.
#pragma once

#include "floe/layout/atomic_file.hpp"
#include "floe/target/target.hpp"
#include "floe/transfer/session.hpp"

namespace floe::transfer {

// On return the file holds exactly the blob. On a verification failure the file is discarded
// (after one fresh attempt, when the failure may come from a stale partial file).
Task<void> download(Target& src, const Descriptor& blob, layout::PartialFile& file,
                    Session& session);

} // namespace floe::transfer
