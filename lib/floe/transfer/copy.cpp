#include "floe/transfer/copy.hpp"

#include "floe/core/error.hpp"
#include "floe/core/media_types.hpp"

#include <set>

namespace floe::transfer {
namespace {

struct Walk {
    Target& src;
    Target& dst;
    Session& session;
    CopyResult result{};
    std::set<Digest> seen{}; // each blob once, however many manifests share it

    Task<void> copy_blob(const Descriptor& blob) {
        auto slot = co_await session.slot();
        if (co_await dst.exists(blob)) {
            ++result.blobs_skipped;
            session.skipped(blob);
            co_return;
        }
        session.started(blob);
        auto outcome = ResumablePush::Outcome::uploaded;
        try {
            if (auto* resumable = dynamic_cast<ResumablePush*>(&dst)) {
                // The destination may ask again from any offset (an upload cut mid-way).
                outcome = co_await resumable->push_from(
                    blob, [&](std::uint64_t offset) -> Task<std::unique_ptr<BlobReader>> {
                        if (offset > 0)
                            session.resumed(blob, offset);
                        co_return co_await session.open(src, blob, offset);
                    });
            } else {
                auto reader = co_await session.open(src, blob);
                co_await dst.push(blob, *reader);
            }
        } catch (const std::exception& e) {
            session.failed(blob, e.what());
            throw;
        }
        if (outcome == ResumablePush::Outcome::mounted) {
            ++result.blobs_skipped;
            session.mounted(blob);
            co_return;
        }
        ++result.blobs_copied;
        result.bytes_copied += blob.size;
        session.done(blob);
    }

    Task<void> copy_node(const Descriptor& node, std::string_view tag) {
        auto bytes = co_await src.read_manifest(node);
        // A manifest in the destination implies everything it names is there too (registries
        // and layouts both only accept a manifest after its blobs): only the tag may be missing.
        // This check also runs alone, before any concurrency, so the first 401 is met once.
        if (co_await dst.exists(node)) {
            if (media_type::is_manifest(node.media_type)) {
                auto manifest = parse_manifest(bytes);
                result.blobs_skipped += 1 + manifest.layers.size();
            }
            if (!tag.empty())
                co_await dst.push_manifest(node, bytes, tag);
            co_return;
        }
        if (media_type::is_index(node.media_type)) {
            auto index = parse_index(bytes);
            for (auto& child : index.manifests)
                if (media_type::is_manifest_or_index(child.media_type))
                    co_await copy_node(child, "");
        } else if (media_type::is_manifest(node.media_type)) {
            auto manifest = parse_manifest(bytes);
            std::vector<Descriptor> blobs;
            if (seen.insert(manifest.config.digest).second)
                blobs.push_back(manifest.config);
            for (auto& l : manifest.layers)
                if (seen.insert(l.digest).second)
                    blobs.push_back(l);
            for (auto& b : blobs)
                session.queue(b);
            co_await session.for_each(blobs, [this](const Descriptor& b) { return copy_blob(b); });
        } else {
            fail(Errc::unsupported,
                 "cannot copy '" + node.media_type + "': not a manifest or index");
        }
        // Parents last: once the manifest (and its tag) exists, everything it names does too.
        co_await dst.push_manifest(node, bytes, tag);
    }
};

} // namespace

Task<CopyResult> copy_graph(Target& src, Target& dst, const Descriptor& root,
                            std::string_view dst_tag, Session& session) {
    Walk walk{src, dst, session};
    walk.result.root = root;
    co_await walk.copy_node(root, dst_tag);
    co_return walk.result;
}

Task<CopyResult> copy(Target& src, Target& dst, std::string_view reference,
                      std::string_view dst_tag, Session& session) {
    auto root = co_await src.resolve(reference);
    co_return co_await copy_graph(src, dst, root, dst_tag, session);
}

} // namespace floe::transfer
