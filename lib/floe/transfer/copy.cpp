#include "floe/transfer/copy.hpp"

#include "floe/core/error.hpp"
#include "floe/core/media_types.hpp"
#include "floe/target/flight.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

namespace floe::transfer {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

// Reports what is read from a source as progress of one blob; a second open is a retry, and an
// open past the start is a resume (the bytes before it count as done).
class ObservedSource final : public BlobSource {
  public:
    ObservedSource(Session& session, Descriptor blob, BlobSource& inner)
        : session_(session), blob_(std::move(blob)), inner_(inner) {}
    std::optional<std::uint64_t> size() const override { return inner_.size(); }
    int range_parts() const override { return inner_.range_parts(); }

    Task<std::unique_ptr<BlobReader>> open(std::uint64_t offset) override {
        if (opened_++ > 0)
            session_.retried(blob_, offset > 0 ? "continuing from byte " + std::to_string(offset)
                                               : "starting over");
        if (offset > 0)
            session_.resumed_at(blob_, offset);
        auto reader = co_await inner_.open(offset);
        co_return session_.counted(blob_, std::move(reader), offset);
    }

    Task<std::unique_ptr<BlobReader>> open_range(std::uint64_t offset,
                                                 std::uint64_t length) override {
        auto reader = co_await inner_.open_range(offset, length);
        if (!reader)
            co_return nullptr;
        co_return std::make_unique<RangeCounter>(*this, std::move(reader));
    }

  private:
    // Ranges arrive side by side: progress is their sum.
    class RangeCounter final : public BlobReader {
      public:
        RangeCounter(ObservedSource& owner, std::unique_ptr<BlobReader> inner)
            : owner_(owner), inner_(std::move(inner)) {}
        Task<std::size_t> read(std::span<std::byte> buf) override {
            auto n = co_await inner_->read(buf);
            owner_.ranged_ += n;
            if (n)
                owner_.session_.moved(owner_.blob_, owner_.ranged_, n);
            co_return n;
        }

      private:
        ObservedSource& owner_;
        std::unique_ptr<BlobReader> inner_;
    };

    Session& session_;
    Descriptor blob_;
    BlobSource& inner_;
    int opened_ = 0;
    std::uint64_t ranged_ = 0;
};

} // namespace

// One copy: the blobs seen (each moves once, however many manifests share it; a second
// manifest waits for a blob the first is still moving) and the manifests on the current path.
struct Engine::Walk {
    Engine& engine;
    ReadOnlyTarget& src;
    Target& dst;
    const std::set<Digest>& present;
    CopyStats stats{};
    std::map<Digest, std::shared_ptr<Flight>> moving{};
    std::set<Digest> moved{};

    Task<void> copy_blob(const Descriptor& blob) {
        if (present.contains(blob.digest) || moved.contains(blob.digest))
            co_return;
        if (auto it = moving.find(blob.digest); it != moving.end()) {
            auto flight = it->second;
            co_await flight->wait();
            if (!moved.contains(blob.digest))
                fail(Errc::cancelled, "a shared blob failed to copy");
            co_return;
        }
        auto flight = std::make_shared<Flight>();
        moving[blob.digest] = flight;
        struct Landing {
            Walk* walk;
            Digest digest;
            std::shared_ptr<Flight> flight;
            ~Landing() {
                walk->moving.erase(digest);
                flight->land();
            }
        } landing{this, blob.digest, flight};
        FetchSource source(src, blob, engine.session_.options().range_parts);
        co_await engine.move_blob(dst, blob, source, true, stats);
        moved.insert(blob.digest);
    }

    Task<void> copy_node(const Descriptor& node, std::string_view tag, int depth,
                         std::set<Digest> path) {
        if (depth > engine.options_.max_depth)
            fail(Errc::protocol, "index nesting deeper than " +
                                     std::to_string(engine.options_.max_depth) + " levels at " +
                                     node.digest.str() + "; refusing to follow it");
        if (!path.insert(node.digest).second)
            fail(Errc::protocol, node.digest.str() + " refers to itself; refusing to follow it");
        auto bytes = co_await src.read_manifest(node);
        // A manifest in the destination implies everything it names is there too (registries
        // and layouts both only accept a manifest after its blobs): only the tag may be missing.
        // This check also runs alone, before any concurrency, so the first 401 is met once.
        if (co_await dst.exists(node)) {
            if (media_type::is_manifest(node.media_type)) {
                auto manifest = parse_manifest(bytes);
                stats.blobs_skipped += 1 + manifest.layers.size();
            }
            if (!tag.empty())
                co_await dst.push_manifest(node, bytes, tag);
            co_return;
        }
        std::vector<Descriptor> nodes, blobs;
        if (media_type::is_index(node.media_type)) {
            auto index = parse_index(bytes);
            for (auto& child : index.manifests)
                if (media_type::is_manifest_or_index(child.media_type))
                    nodes.push_back(child);
            if (index.subject)
                nodes.push_back(*index.subject);
        } else if (media_type::is_manifest(node.media_type)) {
            auto manifest = parse_manifest(bytes);
            blobs.push_back(manifest.config);
            for (auto& l : manifest.layers)
                blobs.push_back(l);
            if (manifest.subject)
                nodes.push_back(*manifest.subject);
        } else {
            fail(Errc::unsupported,
                 "cannot copy '" + node.media_type + "': not a manifest or index");
        }
        auto& session = engine.session_;
        for (auto& b : blobs)
            if (!present.contains(b.digest))
                session.queue(b);
        auto copy_nodes = [&]() -> Task<void> {
            co_await session.for_each(nodes, [&](const Descriptor& child) {
                return copy_node(child, "", depth + 1, path);
            });
        };
        auto copy_blobs = [&]() -> Task<void> {
            co_await session.for_each(blobs, [this](const Descriptor& b) { return copy_blob(b); });
        };
        if (nodes.empty())
            co_await copy_blobs();
        else
            co_await (copy_nodes() && copy_blobs());
        // Parents last: once the manifest (and its tag) exists, everything it names does too.
        co_await dst.push_manifest(node, bytes, tag);
    }
};

Engine::Engine(Session& session, CopyOptions options)
    : session_(session), options_(std::move(options)) {}
Engine::~Engine() = default;

Task<Descriptor> Engine::move_blob(Target& dst, Descriptor blob, BlobSource& source, bool known,
                                   CopyStats& stats) {
    auto slot = co_await session_.slot();
    if (known && co_await dst.exists(blob)) {
        ++stats.blobs_skipped;
        session_.skipped(blob);
        co_return blob;
    }
    session_.started(blob);
    Descriptor stored;
    try {
        bool mounted = false;
        if (auto* mounter = dynamic_cast<Mounter*>(&dst); known && mounter)
            for (auto& from : options_.mount_from)
                if ((mounted = co_await mounter->mount(blob, from)))
                    break;
        if (mounted) {
            ++stats.blobs_skipped;
            session_.mounted(blob);
            co_return blob;
        }
        ObservedSource observed(session_, blob, source);
        stored = co_await dst.push(blob, observed);
    } catch (const std::exception& e) {
        session_.failed(blob, e.what());
        throw;
    }
    ++stats.blobs_copied;
    stats.bytes_copied += stored.size;
    session_.done(stored);
    co_return stored;
}

Task<CopyStats> Engine::copy(ReadOnlyTarget& src, Target& dst, const Descriptor& root,
                             std::string_view tag, const std::set<Digest>& present) {
    Walk walk{*this, src, dst, present};
    std::set<Digest> path;
    co_await walk.copy_node(root, tag, 0, std::move(path));
    co_return walk.stats;
}

Task<std::vector<Descriptor>> Engine::push_unhashed(Target& dst, std::vector<UnhashedBlob>& blobs,
                                                    CopyStats& stats) {
    std::vector<Descriptor> out(blobs.size());
    for (auto& b : blobs)
        session_.queue(b.desc);
    co_await session_.for_each_index(blobs.size(), [&](std::size_t i) -> Task<void> {
        out[i] = co_await move_blob(dst, blobs[i].desc, *blobs[i].source, false, stats);
    });
    co_return out;
}

} // namespace floe::transfer
