#include "floe/artifact/push.hpp"

#include "floe/artifact/release_guard.hpp"

namespace floe::artifact {

Task<PushOutcome> push_artifact(PackedArtifact& packed, Target& dst, const std::string& tag,
                                transfer::Engine& engine) {
    auto release = co_await existing_release(dst, tag);
    transfer::CopyStats stats;
    std::set<Digest> sent;
    if (!packed.pending().empty()) {
        if (release) {
            // The release tag exists: its content must be compared before anything is sent,
            // so the large files are hashed here instead of on the way.
            packed.hash_pending();
        } else {
            std::vector<transfer::UnhashedBlob> blobs;
            for (auto& p : packed.pending())
                blobs.push_back(
                    {packed.layer(p.layer),
                     std::make_unique<FileSource>(p.path.string(), packed.layer(p.layer).size)});
            auto pending = packed.pending();
            auto stored = co_await engine.push_unhashed(dst, blobs, stats);
            for (std::size_t i = 0; i < pending.size(); ++i) {
                packed.set_digest(pending[i].layer, stored[i].digest);
                sent.insert(stored[i].digest);
            }
        }
        packed.finalize();
    }
    PushOutcome out;
    out.manifest = packed.manifest_descriptor();
    if (auto existing =
            co_await release_already_pushed(dst, tag, release, out.manifest, &packed.manifest())) {
        out.manifest = *existing;
        out.blobs_skipped = 1 + packed.manifest().layers.size();
        co_return out;
    }
    stats += co_await engine.copy(packed, dst, out.manifest, tag, sent);
    out.blobs_pushed = stats.blobs_copied;
    out.blobs_skipped = stats.blobs_skipped;
    out.bytes_pushed = stats.bytes_copied;
    co_return out;
}

} // namespace floe::artifact
