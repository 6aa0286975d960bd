// The facade: owns the event loop, the HTTP client and the per-registry state, and turns each
// public call into a copy between two Targets.
#include "floe/client.hpp"

#include "floe/artifact/digest_cache.hpp"
#include "floe/artifact/extract.hpp"
#include "floe/artifact/pack.hpp"
#include "floe/artifact/tag_policy.hpp"
#include "floe/auth/authenticator.hpp"
#include "floe/core/media_types.hpp"
#include "floe/http/client.hpp"
#include "floe/http/rate_limiter.hpp"
#include "floe/layout/layout_target.hpp"
#include "floe/registry/remote_target.hpp"
#include "floe/target/target.hpp"
#include "floe/transfer/copy.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <map>

namespace floe {

namespace asio = boost::asio;

struct Client::Impl {
    ClientOptions options;
    asio::io_context ioc{1};
    http::Client http;
    auth::Authenticator auth;
    std::map<std::string, std::shared_ptr<registry::Registry>> registries;

    static http::ClientOptions http_options(const ClientOptions& o) {
        http::ClientOptions h;
        h.ca_file = o.ca_file;
        h.insecure_skip_verify = o.insecure_skip_tls_verify;
        h.connect_timeout = o.timeout;
        h.io_timeout = o.timeout;
        h.log = o.log;
        h.max_idle_per_origin = static_cast<std::size_t>(std::max(o.concurrency, 1)) + 2;
        if (o.limit_rate)
            h.limiter = std::make_shared<http::RateLimiter>(o.limit_rate, 64 * 1024);
        return h;
    }

    explicit Impl(ClientOptions o)
        : options(std::move(o)), http(ioc.get_executor(), http_options(options)),
          auth(http,
               options.credentials ? options.credentials : std::make_shared<EnvCredentials>()) {}

    // Runs one operation on the event loop to completion; its exception comes out here.
    template <class T>
    T run(Task<T> task) {
        std::exception_ptr error;
        std::optional<T> value;
        asio::co_spawn(ioc, std::move(task), [&](std::exception_ptr e, T v) {
            error = e;
            if (!e)
                value = std::move(v);
        });
        ioc.restart();
        ioc.run();
        if (error)
            std::rethrow_exception(error);
        return std::move(*value);
    }

    std::unique_ptr<Target> open(const Reference& ref, bool push) {
        if (ref.is_layout())
            return std::make_unique<layout::LayoutTarget>(ref.path, options.durable);
        auto host = ref.api_host();
        auto& reg = registries[host];
        if (!reg)
            reg = std::make_shared<registry::Registry>(
                http, auth, host, registry::RegistryOptions{options.plain_http});
        registry::UploadOptions upload{options.chunk_size, options.mount_from, 5};
        return std::make_unique<registry::RemoteTarget>(reg, ref.repository, push, upload);
    }

    transfer::Session session() const {
        return transfer::Session({options.concurrency, 5, options.progress, options.range_parts});
    }
};

namespace {

// Same config, same layers (digest, type, title), same artifact type and same annotations
// apart from the creation time.
bool same_content(const Manifest& a, const Manifest& b) {
    auto without_created = [](Annotations an) {
        an.erase(std::string(annotation::created));
        return an;
    };
    return a.config.digest == b.config.digest && a.layers == b.layers &&
           a.artifact_type == b.artifact_type &&
           without_created(a.annotations) == without_created(b.annotations);
}

// What a release tag already names in `dst`: nothing for environment tags or a tag not there
// yet. One lookup serves both the one-pass upload decision and the release rule.
Task<std::optional<Descriptor>> existing_release(Target& dst, const std::string& tag) {
    if (!artifact::is_immutable_tag(tag))
        co_return std::nullopt;
    try {
        co_return co_await dst.resolve(tag);
    } catch (const Error& e) {
        if (e.errc() != Errc::not_found)
            throw;
    }
    co_return std::nullopt;
}

// The release-tag rule (tag_policy.hpp), for push and copy alike: a release tag that already
// names other content is a conflict. Returns the existing descriptor when the tag already holds
// this content (nothing to do); `ours` lets a push of the same files with a new created time
// count as the same content.
Task<std::optional<Descriptor>> release_already_pushed(Target& dst, const std::string& tag,
                                                       const std::optional<Descriptor>& existing,
                                                       const Descriptor& incoming,
                                                       const Manifest* ours) {
    if (!existing || existing->digest == incoming.digest)
        co_return std::nullopt; // nothing there yet, or the very same manifest: copy as usual
    if (ours && media_type::is_manifest(existing->media_type)) {
        auto bytes = co_await dst.read_manifest(*existing);
        if (same_content(parse_manifest(bytes), *ours))
            co_return existing;
    }
    fail(Errc::conflict, "tag '" + tag + "' is a release version and already names " +
                             existing->digest.str() + " in " + dst.describe() +
                             " with different content; release tags are immutable: push a new "
                             "version, or use an environment tag such as " +
                             tag + "-dev");
}

// Large new files: sent while hashed (one read each) where the destination can, then the
// manifest is built. When the release tag already exists its content must be compared first,
// so those files are hashed here instead.
Task<PushResult> push_pending(artifact::PackedArtifact& packed, Target& dst, bool release_exists,
                              transfer::Session& session) {
    PushResult r;
    auto* streaming = dynamic_cast<StreamingPush*>(&dst);
    if (!streaming || release_exists) {
        packed.hash_pending();
    } else {
        std::vector<Descriptor> layers;
        std::map<std::string, artifact::PackedArtifact::Pending> by_title;
        for (auto& p : packed.pending()) {
            layers.push_back(packed.layer(p.layer));
            by_title[layers.back().title()] = p;
        }
        for (auto& l : layers)
            session.queue(l);
        co_await session.for_each(layers, [&](const Descriptor& layer) -> Task<void> {
            auto& pending = by_title.at(layer.title());
            auto slot = co_await session.slot();
            session.started(layer);
            Descriptor stored;
            try {
                stored = co_await streaming->push_unknown(
                    layer, [&](std::uint64_t offset) -> Task<std::unique_ptr<BlobReader>> {
                        if (offset > 0)
                            session.resumed(layer, offset);
                        co_return session.counted(
                            layer, std::make_unique<FileReader>(pending.path.string(), offset),
                            offset);
                    });
            } catch (const std::exception& e) {
                session.failed(layer, e.what());
                throw;
            }
            packed.set_digest(pending.layer, stored.digest);
            ++r.blobs_pushed;
            r.bytes_pushed += stored.size;
            session.done(stored);
        });
    }
    packed.finalize();
    co_return r;
}

} // namespace

Client::Client(ClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}
Client::~Client() = default;

namespace {

artifact::PackOptions pack_options_for(const PushOptions& options, artifact::DigestCache& cache) {
    artifact::PackOptions p;
    p.annotations = options.annotations;
    p.artifact_type = options.artifact_type;
    p.compression = options.compression == LayerCompression::zstd ? artifact::Compression::zstd
                                                                  : artifact::Compression::gzip;
    p.cache = &cache;
    p.defer_hashing_over = 16 * 1024 * 1024;
    return p;
}

// One packed artifact into one destination, within a shared session.
Task<PushResult> push_packed(artifact::PackedArtifact& packed, Target& dst, const std::string& tag,
                             transfer::Session& session) {
    auto release = co_await existing_release(dst, tag);
    PushResult streamed;
    if (!packed.pending().empty())
        streamed = co_await push_pending(packed, dst, release.has_value(), session);
    if (auto existing = co_await release_already_pushed(
            dst, tag, release, packed.manifest_descriptor(), &packed.manifest())) {
        PushResult r;
        r.manifest = *existing;
        r.tag = tag;
        r.blobs_skipped = 1 + packed.manifest().layers.size();
        co_return r;
    }
    auto copied =
        co_await transfer::copy_graph(packed, dst, packed.manifest_descriptor(), tag, session);
    PushResult r;
    r.manifest = packed.manifest_descriptor();
    r.tag = tag;
    // Blobs streamed above were found in place by the copy: count them as pushed.
    r.blobs_pushed = copied.blobs_copied + streamed.blobs_pushed;
    r.blobs_skipped = copied.blobs_skipped - streamed.blobs_pushed;
    r.bytes_pushed = copied.bytes_copied + streamed.bytes_pushed;
    co_return r;
}

// Directories holding target/compiled_artifacts.json: `root` itself, or its subdirectories.
std::vector<std::filesystem::path> find_products(const std::filesystem::path& root) {
    namespace fs = std::filesystem;
    auto marker = fs::path("target") / std::string(artifact::compiled_artifacts_name);
    if (fs::is_regular_file(root / marker))
        return {root};
    std::vector<fs::path> found;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(root, ec))
        if (e.is_directory() && fs::is_regular_file(e.path() / marker))
            found.push_back(e.path());
    if (ec)
        fail(Errc::invalid_artifact, "cannot read " + root.string() + ": " + ec.message());
    std::sort(found.begin(), found.end());
    if (found.empty())
        fail(Errc::invalid_artifact, "no data products under " + root.string() +
                                         " (looked for */target/compiled_artifacts.json)");
    return found;
}

} // namespace

PushResult Client::push(const Reference& ref, const PushOptions& options) {
    if (ref.digest)
        fail(Errc::invalid_argument,
             "push takes a tag, not a digest: the digest is computed from the content");
    std::string tag = ref.tag.empty() ? "latest" : ref.tag;
    artifact::DigestCache cache(options.digest_cache ? artifact::DigestCache::default_path()
                                                     : std::filesystem::path());
    auto packed = artifact::pack(options.paths, pack_options_for(options, cache));
    auto dst = impl_->open(ref, true);
    return impl_->run([&]() -> Task<PushResult> {
        auto session = impl_->session();
        co_return co_await push_packed(*packed, *dst, tag, session);
    }());
}

std::vector<ProductPushResult> Client::push_products(const Reference& prefix,
                                                     const std::filesystem::path& root,
                                                     const PushOptions& options) {
    if (prefix.is_layout() || !prefix.tag.empty() || prefix.digest)
        fail(Errc::invalid_argument, "--products takes a registry prefix such as "
                                     "registry.example.com/data (no tag): each product is pushed "
                                     "to <prefix>/<product_name>:<product_version>");
    artifact::DigestCache cache(options.digest_cache ? artifact::DigestCache::default_path()
                                                     : std::filesystem::path());
    struct Job {
        Reference ref;
        std::unique_ptr<artifact::PackedArtifact> packed;
        std::unique_ptr<Target> dst;
    };
    std::vector<Job> jobs;
    for (auto& dir : find_products(root)) {
        PushOptions one = options;
        one.paths = {dir / "target" / std::string(artifact::compiled_artifacts_name)};
        auto packed = artifact::pack(one.paths, pack_options_for(one, cache)); // validates it
        auto name = packed->product()->name;
        auto version = packed->product()->version;
        Reference ref = prefix;
        ref.repository = prefix.repository + "/" + name;
        ref.tag = version;
        std::replace(ref.tag.begin(), ref.tag.end(), '+', '_'); // semver build metadata
        if (!is_valid_repository(ref.repository))
            fail(Errc::invalid_artifact, one.paths[0].string() + ": product_name '" + name +
                                             "' is not a valid repository name (lowercase a-z, "
                                             "0-9, '.', '_', '-')");
        if (!is_valid_tag(ref.tag))
            fail(Errc::invalid_artifact,
                 one.paths[0].string() + ": product_version '" + version + "' is not a valid tag");
        auto dst = impl_->open(ref, true);
        jobs.push_back({ref, std::move(packed), std::move(dst)});
    }
    return impl_->run([&]() -> Task<std::vector<ProductPushResult>> {
        // One session: every blob of every product shares the same concurrency bound.
        auto session = impl_->session();
        std::vector<ProductPushResult> results(jobs.size());
        co_await session.for_each_index(jobs.size(), [&](std::size_t i) -> Task<void> {
            results[i].ref = jobs[i].ref;
            results[i].result =
                co_await push_packed(*jobs[i].packed, *jobs[i].dst, jobs[i].ref.tag, session);
        });
        co_return results;
    }());
}

PullResult Client::pull(const Reference& ref, const std::filesystem::path& out,
                        const PullOptions& options) {
    auto src = impl_->open(ref, false);
    return impl_->run([&]() -> Task<PullResult> {
        auto session = impl_->session();
        auto extracted = co_await artifact::extract_to_directory(
            *src, ref.selector(), out, session, {options.overwrite, impl_->options.durable});
        PullResult r;
        r.manifest = extracted.manifest;
        for (auto& item : extracted.items)
            r.items.push_back({item.layer.title(), item.path, item.layer, item.directory});
        r.skipped_layers = extracted.skipped;
        co_return r;
    }());
}

InspectResult Client::inspect(const Reference& ref) {
    auto src = impl_->open(ref, false);
    return impl_->run([&]() -> Task<InspectResult> {
        InspectResult r;
        r.descriptor = co_await src->resolve(ref.selector());
        r.manifest_bytes = co_await src->read_manifest(r.descriptor);
        if (media_type::is_index(r.descriptor.media_type))
            r.index = parse_index(r.manifest_bytes);
        else
            r.manifest = parse_manifest(r.manifest_bytes);
        co_return r;
    }());
}

CopyResult Client::copy(const Reference& from, const Reference& to) {
    if (to.digest)
        fail(Errc::invalid_argument, "the destination takes a tag, not a digest");
    auto src = impl_->open(from, false);
    auto dst = impl_->open(to, true);
    std::string tag = !to.tag.empty() ? to.tag : from.tag;
    return impl_->run([&]() -> Task<CopyResult> {
        auto root = co_await src->resolve(from.selector());
        auto release = co_await existing_release(*dst, tag);
        co_await release_already_pushed(*dst, tag, release, root, nullptr);
        auto session = impl_->session();
        auto copied = co_await transfer::copy_graph(*src, *dst, root, tag, session);
        co_return CopyResult{copied.root, copied.blobs_copied, copied.blobs_skipped,
                             copied.bytes_copied};
    }());
}

} // namespace floe
