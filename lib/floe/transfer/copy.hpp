// The copy engine: one graph walk that serves push (files -> registry), pull (registry ->
// layout), and mirroring (registry -> registry). Children before parents, so a tag never
// points at a manifest whose blobs are missing; blobs the destination has are skipped, and
// shared blobs are moved once.
#pragma once

#include "floe/target/target.hpp"
#include "floe/transfer/session.hpp"

#include <cstdint>
#include <string>

namespace floe::transfer {

struct CopyResult {
    Descriptor root;
    std::uint64_t blobs_copied = 0;
    std::uint64_t blobs_skipped = 0;
    std::uint64_t bytes_copied = 0;
};

// Copies the manifest (or index) that `reference` names in `src`, with everything it refers
// to, into `dst`, and points `dst_tag` at it there (no tag when empty).
Task<CopyResult> copy(Target& src, Target& dst, std::string_view reference,
                      std::string_view dst_tag, Session& session);

// The same, starting from a known root descriptor.
Task<CopyResult> copy_graph(Target& src, Target& dst, const Descriptor& root,
                            std::string_view dst_tag, Session& session);

} // namespace floe::transfer
