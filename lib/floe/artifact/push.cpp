#include "floe/artifact/push.hpp"

#include "floe/artifact/release_guard.hpp"
#include "floe/artifact/tag_policy.hpp"
#include "floe/core/error.hpp"
#include "floe/core/media_types.hpp"

namespace floe::artifact {

namespace {

// Sends the files whose digests are not known yet while hashing them (one read each).
Task<std::set<Digest>> push_pending(PackedArtifact& packed, Target& dst, transfer::Engine& engine,
                                    transfer::CopyStats& stats) {
    std::set<Digest> sent;
    std::vector<transfer::UnhashedBlob> blobs;
    for (auto& p : packed.pending())
        blobs.push_back({packed.layer(p.layer), std::make_unique<FileSource>(
                                                    p.path.string(), packed.layer(p.layer).size)});
    auto pending = packed.pending();
    auto stored = co_await engine.push_unhashed(dst, blobs, stats);
    for (std::size_t i = 0; i < pending.size(); ++i) {
        packed.set_digest(pending[i].layer, stored[i].digest);
        sent.insert(stored[i].digest);
    }
    co_return sent;
}

// The manifest a tag names, when it holds the same content as `ours` (nullopt otherwise). A
// release tag naming other content throws Errc::conflict.
Task<std::optional<Descriptor>> same_as_ours(Target& dst, const std::string& tag,
                                             const Descriptor& existing, const Descriptor& incoming,
                                             const Manifest& ours) {
    if (is_immutable_tag(tag)) {
        auto same = co_await release_already_pushed(dst, tag, existing, incoming, &ours);
        co_return existing.digest == incoming.digest ? existing : same;
    }
    if (existing.digest == incoming.digest)
        co_return existing;
    if (!media_type::is_manifest(existing.media_type))
        co_return std::nullopt;
    auto bytes = co_await dst.read_manifest(existing);
    if (same_content(parse_manifest(bytes), ours))
        co_return existing;
    co_return std::nullopt;
}

} // namespace

Task<PushOutcome> push_artifact(PackedArtifact& packed, Target& dst,
                                const std::vector<std::string>& tags, transfer::Engine& engine) {
    if (tags.empty())
        fail(Errc::invalid_argument, "a push needs a tag");
    // Where every tag stands, before a byte is sent.
    std::vector<std::optional<Descriptor>> existing;
    bool any_existing = false;
    for (auto& tag : tags) {
        existing.push_back(co_await existing_tag(dst, tag));
        any_existing = any_existing || existing.back().has_value();
    }
    transfer::CopyStats stats;
    std::set<Digest> sent;
    if (!packed.pending().empty()) {
        if (any_existing)
            // A tag exists: its content is compared before anything is sent, so the large
            // files are hashed here rather than on the way (read twice if they changed).
            packed.hash_pending();
        else
            sent = co_await push_pending(packed, dst, engine, stats);
        packed.finalize();
    }
    PushOutcome out;
    out.manifest = packed.manifest_descriptor();
    // A tag that already names this content lends its manifest to the others: nothing is
    // uploaded, and every tag ends up naming one digest.
    std::optional<Descriptor> reuse;
    std::vector<bool> done(tags.size(), false);
    for (std::size_t i = 0; i < tags.size(); ++i) {
        if (!existing[i])
            continue;
        auto same =
            co_await same_as_ours(dst, tags[i], *existing[i], out.manifest, packed.manifest());
        if (same && (!reuse || reuse->digest == same->digest)) {
            reuse = same;
            done[i] = true;
        }
    }
    if (reuse) {
        out.manifest = *reuse;
        out.blobs_skipped = 1 + packed.manifest().layers.size();
    } else {
        stats += co_await engine.copy(packed, dst, out.manifest, tags[0], sent);
        done[0] = true;
        out.blobs_pushed = stats.blobs_copied;
        out.blobs_skipped = stats.blobs_skipped;
        out.bytes_pushed = stats.bytes_copied;
    }
    out.unchanged = reuse.has_value();
    for (std::size_t i = 0; i < tags.size(); ++i)
        if (!done[i] && !(existing[i] && existing[i]->digest == out.manifest.digest)) {
            co_await dst.tag(out.manifest, tags[i]); // the same bytes: the digest is unchanged
            out.unchanged = false;
        }
    co_return out;
}

} // namespace floe::artifact
