#include "floe/transfer/copy.hpp"

#include "floe/core/error.hpp"
#include "floe/core/media_types.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <set>

namespace floe::transfer {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

struct Walk {
    Target& src;
    Target& dst;
    const CopyOptions& options;
    CopyResult result;
    std::set<Digest> seen; // each blob once, however many manifests share it

    Task<void> copy_blob(const Descriptor& blob) {
        if (co_await dst.exists(blob)) {
            ++result.blobs_skipped;
            if (options.on_blob)
                options.on_blob({BlobEvent::Kind::skipped, blob});
            co_return;
        }
        if (options.on_blob)
            options.on_blob({BlobEvent::Kind::started, blob});
        auto reader = co_await src.fetch(blob, 0);
        co_await dst.push(blob, *reader);
        ++result.blobs_copied;
        result.bytes_copied += blob.size;
        if (options.on_blob)
            options.on_blob({BlobEvent::Kind::done, blob});
    }

    // `workers` coroutines take blobs from a shared cursor: at most that many in flight. The
    // first failure is kept and stops new work; blobs already in flight finish. (Cancelling
    // siblings would replace the real error with "operation canceled".)
    std::exception_ptr failure;

    Task<void> worker(const std::vector<Descriptor>& blobs, std::size_t& next) {
        while (next < blobs.size() && !failure) {
            const auto& blob = blobs[next++];
            try {
                co_await copy_blob(blob);
            } catch (...) {
                if (!failure)
                    failure = std::current_exception();
            }
        }
    }

    Task<void> run_workers(const std::vector<Descriptor>& blobs, std::size_t& next, int workers) {
        if (workers <= 1)
            co_await worker(blobs, next);
        else
            co_await (worker(blobs, next) && run_workers(blobs, next, workers - 1));
    }

    Task<void> copy_node(const Descriptor& node, std::string_view tag) {
        // A manifest in the destination implies everything it names is there too (registries
        // and layouts both only accept a manifest after its blobs): only the tag may be missing.
        // This check also runs alone, before any concurrency, so the first 401 is met once.
        auto bytes = co_await src.read_manifest(node);
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
            for (auto* d : {&manifest.config})
                if (seen.insert(d->digest).second)
                    blobs.push_back(*d);
            for (auto& l : manifest.layers)
                if (seen.insert(l.digest).second)
                    blobs.push_back(l);
            std::size_t next = 0;
            int workers =
                std::max(1, std::min<int>(options.concurrency, static_cast<int>(blobs.size())));
            if (!blobs.empty())
                co_await run_workers(blobs, next, workers);
            if (failure)
                std::rethrow_exception(failure);
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
                            std::string_view dst_tag, const CopyOptions& options) {
    Walk walk{src, dst, options, {}, {}, {}};
    walk.result.root = root;
    co_await walk.copy_node(root, dst_tag);
    co_return walk.result;
}

Task<CopyResult> copy(Target& src, Target& dst, std::string_view reference,
                      std::string_view dst_tag, const CopyOptions& options) {
    auto root = co_await src.resolve(reference);
    co_return co_await copy_graph(src, dst, root, dst_tag, options);
}

} // namespace floe::transfer
