// The facade: owns the event loop, the HTTP clients and the per-registry state, and wires each
// public call to the artifact layer and the copy engine. No policy lives here.
#include "floe/client.hpp"

#include "floe/artifact/digest_cache.hpp"
#include "floe/artifact/extract.hpp"
#include "floe/artifact/mirror.hpp"
#include "floe/artifact/pack.hpp"
#include "floe/artifact/products.hpp"
#include "floe/artifact/push.hpp"
#include "floe/artifact/release_guard.hpp"
#include "floe/artifact/tag_policy.hpp"
#include "floe/auth/chain.hpp"
#include "floe/auth/docker_config_keychain.hpp"
#include "floe/core/media_types.hpp"
#include "floe/http/client.hpp"
#include "floe/http/rate_limiter.hpp"
#include "floe/layout/layout_target.hpp"
#include "floe/registry/catalog.hpp"
#include "floe/registry/health.hpp"
#include "floe/registry/remote_target.hpp"
#include "floe/target/failover.hpp"
#include "floe/target/target.hpp"
#include "floe/transfer/copy.hpp"

#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <csignal>
#include <map>
#include <set>
#include <tuple>
#include <unistd.h>

namespace floe {

namespace asio = boost::asio;

struct Client::Impl {
    ClientOptions options;
    asio::io_context ioc{1};
    std::shared_ptr<http::RateLimiter> shared_limit;
    // One HTTP client per way of speaking TLS (and per bandwidth budget): registries that share
    // them share a connection pool.
    std::map<std::tuple<std::string, bool, std::uint64_t, std::string, std::string>,
             std::unique_ptr<http::Client>>
        clients;
    std::map<std::string, std::shared_ptr<registry::Registry>> registries;
    std::map<std::string, std::shared_ptr<http::CircuitBreaker>> breakers; // per host
    auth::SourceContext source_context;
    auth::CredentialSources credential_sources; // shared by every registry's chain

    explicit Impl(ClientOptions o) : options(std::move(o)) {
        if (options.limit_rate)
            shared_limit = std::make_shared<http::RateLimiter>(options.limit_rate, 64 * 1024);
        source_context = {ioc.get_executor(), options.observer, options.credentials.warn,
                          std::chrono::seconds(10)};
        credential_sources = auth::make_credential_sources(source_context, options.credentials);
    }

    // FLOE_REGISTRY_* (or FLOE_SOURCE_REGISTRY_* for a copy's source) belong to the registry
    // the call names, and to no other host.
    void assign_environment(const Reference& ref, const std::string& prefix, bool first) {
        if (!ref.is_layout() && credential_sources.environment)
            credential_sources.environment->assign(ref.api_host(), prefix, first);
    }

    http::Client& http_for(const RegistrySettings& s) {
        auto key = std::make_tuple(s.ca_file, s.insecure_skip_tls_verify, s.limit_rate,
                                   s.client_cert, s.client_key);
        auto& client = clients[key];
        if (!client) {
            http::ClientOptions h;
            h.ca_file = s.ca_file;
            h.insecure_skip_verify = s.insecure_skip_tls_verify;
            h.client_cert = s.client_cert;
            h.client_key = s.client_key;
            h.connect_timeout = options.timeout;
            h.io_timeout = options.timeout;
            h.max_idle_per_origin = static_cast<std::size_t>(std::max(s.concurrency, 1)) + 2;
            // A throttled transfer is slow on purpose: the minimum rate stays well below it.
            auto throttle = s.limit_rate ? s.limit_rate : options.limit_rate;
            h.speed_limit =
                throttle ? std::min(options.speed_limit, throttle / 8) : options.speed_limit;
            h.speed_time = options.speed_time;
            h.limiter = s.limit_rate ? std::make_shared<http::RateLimiter>(s.limit_rate, 64 * 1024)
                                     : shared_limit;
            client = std::make_unique<http::Client>(ioc.get_executor(), h);
        }
        return *client;
    }

    // One breaker per host for the whole process: every request to the host counts.
    std::shared_ptr<http::CircuitBreaker> breaker_for(const std::string& host,
                                                      const CircuitBreakerSettings& settings) {
        auto& b = breakers[host];
        if (!b)
            b = std::make_shared<http::CircuitBreaker>(
                host, settings,
                [notify = options.on_circuit_change,
                 progress = options.progress](std::string_view h, http::CircuitBreaker::State from,
                                              http::CircuitBreaker::State to) {
                    if (notify)
                        notify(h, http::to_string(from), http::to_string(to));
                    if (progress) {
                        ProgressEvent e;
                        e.kind = ProgressEvent::Kind::circuit;
                        e.detail = std::string(h) + ": " + std::string(http::to_string(from)) +
                                   " -> " + std::string(http::to_string(to));
                        progress(e);
                    }
                });
        return b;
    }

    std::shared_ptr<registry::Registry> registry_for(const std::string& host) {
        auto& reg = registries[host];
        if (!reg) {
            auto& s = options.registries.lookup(host);
            registry::RegistryOptions ro;
            ro.plain_http = s.plain_http;
            ro.retry = s.retry;
            ro.observer = options.observer;
            ro.keychain = auth::chain_for(source_context, s.credentials, credential_sources,
                                          s.credential_policy);
            ro.breaker = breaker_for(host, s.circuit_breaker);
            reg = std::make_shared<registry::Registry>(http_for(s), host, std::move(ro));
        }
        return reg;
    }

    const RegistrySettings& settings_for(const Reference& ref) const {
        return ref.is_layout() ? options.registries.defaults
                               : options.registries.lookup(ref.api_host());
    }

    // `source_of`: the destination of the copy this reference is the source of (nullptr when
    // it is the call's own reference, which FLOE_REGISTRY_* are for).
    std::unique_ptr<Target> open(const Reference& ref, bool push,
                                 const Reference* source_of = nullptr) {
        if (!source_of) {
            assign_environment(ref, "FLOE_REGISTRY", true);
        } else {
            assign_environment(ref, "FLOE_SOURCE_REGISTRY", false);
            // Copying to a local layout: the source is the only registry the command names.
            if (source_of->is_layout())
                assign_environment(ref, "FLOE_REGISTRY", false);
        }
        return open_target(ref, push);
    }

    // A target for `ref`, with no credentials from the environment assigned to it.
    std::unique_ptr<Target> open_target(const Reference& ref, bool push) {
        if (ref.is_layout())
            return std::make_unique<layout::LayoutTarget>(ref.path, options.durable);
        auto& s = settings_for(ref);
        return std::make_unique<registry::RemoteTarget>(registry_for(ref.api_host()),
                                                        ref.repository, push, s.chunk_size);
    }

    // `repository` of a registry as the mirror keeps it ("host/namespace/rest"); nullopt when
    // the mirror does not cover it.
    static std::optional<std::string> on_mirror(const RegistryMirror& m,
                                                const std::string& repository) {
        auto& ns = m.namespace_prefix;
        if (!ns.empty() && repository != ns && !repository.starts_with(ns + "/"))
            return std::nullopt;
        auto rest = ns.empty() ? repository : repository.substr(ns.size());
        if (rest.starts_with("/"))
            rest.erase(0, 1);
        if (rest.empty())
            return m.mirror;
        return m.mirror + "/" + rest;
    }

    // What a read goes to: the registry, or the registry and its mirrors, first that answers.
    std::unique_ptr<ReadOnlyTarget> open_source(const Reference& ref,
                                                const Reference* source_of = nullptr) {
        auto primary = open(ref, false, source_of);
        if (ref.is_layout())
            return primary;
        auto& s = settings_for(ref);
        std::vector<std::unique_ptr<ReadOnlyTarget>> sources;
        for (auto& m : s.mirrors) {
            auto mirror = on_mirror(m, ref.repository);
            if (!mirror)
                continue;
            auto mirror_ref = Reference::parse(*mirror + ":x");
            if (sources.empty())
                sources.push_back(std::move(primary));
            // A mirror gets its own credentials (the manifest's, docker's), never the ones
            // the environment holds for the registry the user named.
            sources.push_back(open_target(mirror_ref, false));
        }
        if (sources.empty())
            return primary;
        auto notice = [notify = options.on_failover,
                       progress = options.progress](const std::string& line) {
            if (notify)
                notify(line);
            if (progress) {
                ProgressEvent e;
                e.kind = ProgressEvent::Kind::failover;
                e.detail = line;
                progress(e);
            }
        };
        return std::make_unique<FailoverTarget>(std::move(sources), notice);
    }

    // One registry's health check, on a Registry of its own: no retries (a ping reports what
    // it meets) and no circuit breaker (it must really try).
    Task<PingResult> ping_one(std::string host, std::string repository) {
        auto& s = options.registries.lookup(host);
        auto keychain = auth::chain_for(source_context, s.credentials, credential_sources);
        auto found = co_await keychain->resolve(host, repository);
        registry::RegistryOptions ro;
        ro.plain_http = s.plain_http;
        ro.retry = s.retry;
        ro.retry.max_attempts = 1;
        ro.observer = options.observer;
        ro.keychain = keychain;
        auto& http = http_for(s);
        registry::Registry reg(http, host, std::move(ro));
        registry::HealthCheck what;
        what.repository = repository;
        what.verify_tls = !s.insecure_skip_tls_verify;
        what.plain_http = s.plain_http;
        what.has_credentials = found.has_value();
        co_return co_await registry::check_health(reg, http, what);
    }

    // The operation's session and engine, sized by the settings of the registry it talks to.
    struct Operation {
        transfer::Session session;
        transfer::Engine engine;
        Operation(const ClientOptions& o, const RegistrySettings& s)
            : session({s.concurrency, o.progress, o.range_parts}), engine(session, {s.mount_from}) {
        }
    };

    // Runs one operation on the event loop to completion; its exception comes out here. A
    // deadline or (when asked) SIGINT/SIGTERM cancel it through Asio's cancellation slots.
    template <class T>
    T run(Task<T> task, Deadline deadline) {
        std::exception_ptr error;
        std::optional<T> value;
        asio::cancellation_signal cancel;
        bool interrupted = false, expired = false, finished = false;
        std::optional<asio::signal_set> signals;
        std::function<void()> watch_signals = [&] {
            signals->async_wait([&](const boost::system::error_code& ec, int) {
                if (ec || finished)
                    return;
                if (interrupted)
                    ::_exit(130); // a second Ctrl-C while cleaning up: leave at once
                interrupted = true;
                cancel.emit(asio::cancellation_type::terminal);
                watch_signals();
            });
        };
        if (options.handle_interrupts) {
            signals.emplace(ioc, SIGINT, SIGTERM);
            watch_signals();
        }
        std::optional<asio::steady_timer> timer;
        if (deadline) {
            timer.emplace(ioc, *deadline);
            timer->async_wait([&](const boost::system::error_code& ec) {
                if (ec || finished)
                    return;
                expired = true;
                cancel.emit(asio::cancellation_type::terminal);
            });
        }
        asio::co_spawn(ioc, std::move(task),
                       asio::bind_cancellation_slot(cancel.slot(), [&](std::exception_ptr e, T v) {
                           finished = true;
                           error = e;
                           if (!e)
                               value = std::move(v);
                           if (signals)
                               signals->cancel();
                           if (timer)
                               timer->cancel();
                       }));
        ioc.restart();
        ioc.run();
        if (interrupted) {
            // Removing the signal set restores the default action, which would let a second
            // Ctrl-C during the caller's own cleanup kill the process with a signal status:
            // from here on it ends the process with 130, like the first one.
            signals.reset();
            std::signal(SIGINT, [](int) { ::_exit(130); });
            std::signal(SIGTERM, [](int) { ::_exit(130); });
        }
        if (error && interrupted)
            throw Error(Errc::cancelled,
                        "interrupted; run the same command again to continue where it stopped");
        if (error && expired)
            throw Error(Errc::network, "the operation did not finish before its deadline; what "
                                       "was transferred is kept for the next attempt");
        if (error)
            std::rethrow_exception(error);
        return std::move(*value);
    }
};

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

PushResult push_result(const artifact::PushOutcome& o, const std::vector<std::string>& tags) {
    return {o.manifest,     tags.front(),    tags,          o.unchanged,
            o.blobs_pushed, o.blobs_skipped, o.bytes_pushed};
}

} // namespace

PushResult Client::push(const Reference& ref, const PushOptions& options, Deadline deadline) {
    if (ref.digest)
        fail(Errc::invalid_argument,
             "push takes a tag, not a digest: the digest is computed from the content");
    std::string tag = ref.tag.empty() ? "latest" : ref.tag;
    std::vector<std::string> tags{tag};
    for (auto& given : options.tags) {
        auto t = legal_tag(given);
        if (!is_valid_tag(t))
            fail(Errc::invalid_argument,
                 "--tag '" + t + "' is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})");
        if (std::find(tags.begin(), tags.end(), t) == tags.end())
            tags.push_back(t);
    }
    artifact::DigestCache cache(options.digest_cache ? artifact::DigestCache::default_path()
                                                     : std::filesystem::path());
    auto packed = artifact::pack(options.paths, pack_options_for(options, cache));
    auto dst = impl_->open(ref, true);
    return impl_->run(
        [&]() -> Task<PushResult> {
            Impl::Operation op(impl_->options, impl_->settings_for(ref));
            auto outcome = co_await artifact::push_artifact(*packed, *dst, tags, op.engine);
            co_return push_result(outcome, tags);
        }(),
        deadline);
}

std::vector<ProductPushResult> Client::push_products(const Reference& prefix,
                                                     const std::filesystem::path& root,
                                                     const PushOptions& options,
                                                     Deadline deadline) {
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
    for (auto& dir : artifact::find_products(root)) {
        PushOptions one = options;
        one.paths = {dir / "target" / std::string(artifact::compiled_artifacts_name)};
        auto packed = artifact::pack(one.paths, pack_options_for(one, cache)); // validates it
        auto ref = artifact::product_reference(prefix, *packed->product(), one.paths[0]);
        auto dst = impl_->open(ref, true);
        jobs.push_back({ref, std::move(packed), std::move(dst)});
    }
    return impl_->run(
        [&]() -> Task<std::vector<ProductPushResult>> {
            // One engine: every blob of every product shares the same concurrency bound.
            Impl::Operation op(impl_->options, impl_->settings_for(prefix));
            std::vector<ProductPushResult> results(jobs.size());
            co_await op.session.for_each_index(jobs.size(), [&](std::size_t i) -> Task<void> {
                results[i].ref = jobs[i].ref;
                std::vector<std::string> tags{jobs[i].ref.tag};
                auto outcome = co_await artifact::push_artifact(*jobs[i].packed, *jobs[i].dst, tags,
                                                                op.engine);
                results[i].result = push_result(outcome, tags);
            });
            co_return results;
        }(),
        deadline);
}

PullResult Client::pull(const Reference& ref, const std::filesystem::path& out,
                        const PullOptions& options, Deadline deadline) {
    auto src = impl_->open_source(ref);
    return impl_->run(
        [&]() -> Task<PullResult> {
            Impl::Operation op(impl_->options, impl_->settings_for(ref));
            artifact::ExtractOptions extract{options.overwrite, impl_->options.durable,
                                             options.max_unpacked_size};
            auto selector = ref.selector();
            auto extracted =
                co_await artifact::pull_to_directory(*src, selector, out, op.engine, extract);
            PullResult r;
            r.manifest = extracted.manifest;
            for (auto& item : extracted.items)
                r.items.push_back({item.layer.title(), item.path, item.layer, item.directory});
            r.skipped_layers = extracted.skipped;
            r.served_by = src->describe();
            if (auto* failover = dynamic_cast<FailoverTarget*>(src.get()))
                r.from_mirror = failover->on_mirror();
            co_return r;
        }(),
        deadline);
}

InspectResult Client::inspect(const Reference& ref, Deadline deadline) {
    auto src = impl_->open_source(ref);
    return impl_->run(
        [&]() -> Task<InspectResult> {
            InspectResult r;
            r.descriptor = co_await src->resolve(ref.selector());
            r.manifest_bytes = co_await src->read_manifest(r.descriptor);
            if (media_type::is_index(r.descriptor.media_type))
                r.index = parse_index(r.manifest_bytes);
            else
                r.manifest = parse_manifest(r.manifest_bytes);
            co_return r;
        }(),
        deadline);
}

CopyResult Client::copy(const Reference& from, const Reference& to, Deadline deadline) {
    if (to.digest)
        fail(Errc::invalid_argument, "the destination takes a tag, not a digest");
    auto src = impl_->open_source(from, &to);
    auto dst = impl_->open(to, true);
    std::string tag = !to.tag.empty() ? to.tag : from.tag;
    return impl_->run(
        [&]() -> Task<CopyResult> {
            auto root = co_await src->resolve(from.selector());
            auto release = co_await artifact::existing_release(*dst, tag);
            co_await artifact::release_already_pushed(*dst, tag, release, root, nullptr);
            Impl::Operation op(impl_->options, impl_->settings_for(to));
            auto copied = co_await op.engine.copy(*src, *dst, root, tag);
            co_return CopyResult{root, copied.blobs_copied, copied.blobs_skipped,
                                 copied.bytes_copied};
        }(),
        deadline);
}

std::vector<TagInfo> Client::list_tags(const Reference& repository, const TagListOptions& options,
                                       Deadline deadline) {
    if (repository.digest)
        fail(Errc::invalid_argument, "tags lists a repository: give it without a digest");
    if (!options.last.empty() && !is_valid_tag(options.last))
        fail(Errc::invalid_argument, "--last '" + options.last + "' is not a valid tag");
    auto target = impl_->open(repository, false); // the registry's own tags, not a mirror's
    auto* lister = dynamic_cast<TagLister*>(target.get());
    std::size_t page_size = options.page_size ? options.page_size : 1000;
    return impl_->run(
        [&]() -> Task<std::vector<TagInfo>> {
            std::vector<TagInfo> out;
            // The first page starts after `last`: a registry's cursor is its own URL, a
            // layout's is the last tag seen.
            std::optional<std::string> cursor;
            if (!options.last.empty())
                cursor = repository.is_layout() ? options.last
                                                : "/v2/" + repository.repository +
                                                      "/tags/list?n=" + std::to_string(page_size) +
                                                      "&last=" + options.last;
            std::set<std::string> seen;
            do {
                auto page = co_await lister->list_tags(cursor, page_size);
                // `last` again here: a registry that ignores it (distribution 2.8 does) still
                // lists only what comes after.
                for (auto& t : page.tags)
                    if (is_valid_tag(t) && artifact::matches_glob(options.glob, t) &&
                        (options.last.empty() || t > options.last))
                        out.push_back({std::move(t), std::nullopt});
                if (page.next && !seen.insert(*page.next).second)
                    fail(Errc::protocol,
                         "the tag listing of " + lister->describe() + " does not advance");
                if (out.size() > 1'000'000)
                    fail(Errc::protocol, "the tag listing of " + lister->describe() +
                                             " holds more than 1000000 tags");
                cursor = std::move(page.next);
            } while (cursor);
            // Registries page in their own order (distribution's follows its storage): sorted,
            // the same list reads the same everywhere.
            std::sort(out.begin(), out.end(),
                      [](const TagInfo& a, const TagInfo& b) { return a.tag < b.tag; });
            if (options.digests) {
                Impl::Operation op(impl_->options, impl_->settings_for(repository));
                co_await op.session.for_each_index(out.size(), [&](std::size_t i) -> Task<void> {
                    out[i].manifest = co_await target->resolve(out[i].tag);
                });
            }
            co_return out;
        }(),
        deadline);
}

TagResult Client::tag(const Reference& ref, const std::vector<std::string>& given, bool force,
                      Deadline deadline) {
    if (given.empty())
        fail(Errc::invalid_argument, "name at least one tag to add");
    std::vector<std::string> tags;
    for (auto& g : given)
        tags.push_back(legal_tag(g));
    for (auto& t : tags)
        if (!is_valid_tag(t))
            fail(Errc::invalid_argument,
                 "'" + t + "' is not a valid tag ([A-Za-z0-9_][A-Za-z0-9._-]{0,127})");
    auto dst = impl_->open(ref, true);
    return impl_->run(
        [&]() -> Task<TagResult> {
            TagResult r;
            r.manifest = co_await dst->resolve(ref.selector());
            auto bytes = co_await dst->read_manifest(r.manifest);
            // Every tag is checked before any is written: a refused release tag leaves the
            // others as they were.
            std::vector<std::optional<Descriptor>> existing;
            for (auto& t : tags) {
                existing.push_back(co_await artifact::existing_tag(*dst, t));
                auto& there = existing.back();
                if (there && there->digest != r.manifest.digest && artifact::is_immutable_tag(t)) {
                    if (!force)
                        fail(Errc::conflict,
                             "tag '" + t + "' is a release version and already names " +
                                 there->digest.str() + " in " + dst->describe() +
                                 "; release tags are immutable (--force moves it on purpose)");
                    r.moved_releases.push_back(t);
                }
            }
            for (std::size_t i = 0; i < tags.size(); ++i) {
                if (existing[i] && existing[i]->digest == r.manifest.digest) {
                    r.unchanged.push_back(tags[i]);
                    continue;
                }
                co_await dst->push_manifest(r.manifest, bytes, tags[i]);
                r.tagged.push_back(tags[i]);
            }
            co_return r;
        }(),
        deadline);
}

ReferrersResult Client::referrers(const Reference& ref, std::string_view artifact_type,
                                  Deadline deadline) {
    auto target = impl_->open(ref, false);
    auto* lister = dynamic_cast<ReferrerLister*>(target.get());
    if (!lister)
        fail(Errc::unsupported,
             "listing referrers needs a registry; " + target->describe() + " is a local layout");
    return impl_->run(
        [&]() -> Task<ReferrersResult> {
            ReferrersResult r;
            r.subject = co_await target->resolve(ref.selector());
            r.referrers = co_await lister->referrers(r.subject, artifact_type);
            co_return r;
        }(),
        deadline);
}

MirrorResult Client::mirror(const Reference& prefix, const MirrorOptions& options,
                            Deadline deadline) {
    if (prefix.is_layout() || !prefix.tag.empty() || prefix.digest)
        fail(Errc::invalid_argument, "mirror copies from a registry namespace such as "
                                     "registry.example.com/floe (no tag, no digest)");
    impl_->assign_environment(prefix, "FLOE_REGISTRY", true);
    auto& settings = impl_->settings_for(prefix);
    std::vector<RegistryMirror> mirrors;
    for (auto& to : options.to)
        mirrors.push_back({prefix.repository, to});
    if (options.to.empty())
        mirrors = settings.mirrors;
    if (mirrors.empty())
        fail(Errc::invalid_argument,
             prefix.registry + " has no mirrors configured: add `mirrors` to the environment in "
                               "the platform manifest, or name them with --to HOST[/NAMESPACE]");
    auto registry = impl_->registry_for(prefix.api_host());
    return impl_->run(
        [&]() -> Task<MirrorResult> {
            std::vector<std::string> repositories;
            for (auto& r : options.repositories) {
                auto full = prefix.repository.empty() ? r : prefix.repository + "/" + r;
                if (!is_valid_repository(full))
                    fail(Errc::invalid_argument, "--repository '" + r +
                                                     "' is not a repository "
                                                     "name (lower case, digits, . _ - /)");
                repositories.push_back(full);
            }
            if (repositories.empty())
                repositories = co_await registry::list_repositories(*registry, prefix.repository);
            Impl::Operation op(impl_->options, settings);
            // Every (repository, mirror, tag) to look at, sharing one target per repository.
            struct Job {
                std::shared_ptr<Target> source, mirror;
                std::string tag;
                artifact::TagState state;
            };
            std::vector<Job> jobs;
            for (auto& repository : repositories) {
                Reference source_ref = prefix;
                source_ref.repository = repository;
                std::shared_ptr<Target> source = impl_->open_target(source_ref, false);
                auto tags = co_await all_tags(dynamic_cast<TagLister&>(*source));
                for (auto& m : mirrors) {
                    auto where = Impl::on_mirror(m, repository);
                    if (!where)
                        continue;
                    auto mirror_ref = Reference::parse(*where + ":x");
                    std::shared_ptr<Target> mirror = impl_->open_target(mirror_ref, true);
                    for (auto& tag : tags)
                        // A tag outside the OCI grammar (a hostile list) is never requested.
                        if (is_valid_tag(tag) && artifact::matches_glob(options.tags, tag))
                            jobs.push_back({source, mirror, tag, {}});
                }
            }
            MirrorResult result;
            result.tags.resize(jobs.size());
            auto record_failure = [](MirroredTag& row, const Error& e) {
                if (e.errc() == Errc::cancelled)
                    throw e;
                row.error = e.errc();
                row.message = e.what();
            };
            // Where each tag stands, all at once: on an unchanged mirror this is the whole run.
            co_await op.session.for_each_index(jobs.size(), [&](std::size_t i) -> Task<void> {
                auto& row = result.tags[i];
                row.source = jobs[i].source->describe() + ":" + jobs[i].tag;
                row.destination = jobs[i].mirror->describe() + ":" + jobs[i].tag;
                try {
                    jobs[i].state = co_await artifact::compare_tag(*jobs[i].source, *jobs[i].mirror,
                                                                   jobs[i].tag);
                    row.manifest = jobs[i].state.source;
                } catch (const Error& e) {
                    record_failure(row, e);
                }
            });
            co_await http::throw_if_cancelled();
            // Then the copies one tag at a time (each with its blobs in parallel), so tags that
            // share blobs upload them once.
            for (std::size_t i = 0; i < jobs.size(); ++i) {
                auto& row = result.tags[i];
                if (row.error != Errc::ok || jobs[i].state.identical())
                    continue;
                try {
                    auto stats = co_await artifact::sync_tag(*jobs[i].source, *jobs[i].mirror,
                                                             jobs[i].tag, jobs[i].state, op.engine);
                    row.copied = true;
                    row.bytes_copied = stats.bytes_copied;
                } catch (const Error& e) {
                    record_failure(row, e);
                }
                co_await http::throw_if_cancelled();
            }
            co_return result;
        }(),
        deadline);
}

namespace {

// "host[:port]" from what a user types after `floe login`: a bare host, a URL, or a host with a
// path (docker accepts all three).
Reference registry_reference(std::string_view registry) {
    std::string_view r = registry;
    if (auto scheme = r.find("://"); scheme != std::string_view::npos)
        r.remove_prefix(scheme + 3);
    r = r.substr(0, r.find('/'));
    if (r.empty())
        fail(Errc::invalid_argument, "give a registry host such as registry.example.com[:port]");
    return Reference::parse(std::string(r) + "/floe-login");
}

std::string kind_of(const std::optional<Credentials>& c) {
    if (!c)
        return "anonymous";
    if (!c->registry_token.empty())
        return "registry-token";
    if (!c->identity_token.empty())
        return "identity-token";
    return "basic";
}

// The repository part of what `floe registry ping` takes ("host/team/app" -> "team/app"),
// checked as a reference would be; "" for a bare host.
std::string ping_repository(std::string_view registry, const Reference& host_ref) {
    std::string_view r = registry;
    if (auto scheme = r.find("://"); scheme != std::string_view::npos)
        r.remove_prefix(scheme + 3);
    auto slash = r.find('/');
    if (slash == std::string_view::npos || slash + 1 == r.size())
        return {};
    auto full = Reference::parse(host_ref.registry + "/" + std::string(r.substr(slash + 1)));
    return full.repository;
}

} // namespace

CredentialInfo Client::which_credentials(std::string_view registry, Deadline deadline) {
    auto ref = registry_reference(registry);
    impl_->assign_environment(ref, "FLOE_REGISTRY", true);
    auto host = ref.api_host();
    auto& settings = impl_->settings_for(ref);
    auto chain = auth::chain_for(impl_->source_context, settings.credentials,
                                 impl_->credential_sources, settings.credential_policy);
    return impl_->run(
        [&]() -> Task<CredentialInfo> {
            auto found = co_await chain->resolve(host, "");
            CredentialInfo info{ref.registry, {}, {}, kind_of(found)};
            if (found) {
                info.source = found->source;
                info.username = found->username;
            }
            co_return info;
        }(),
        deadline);
}

LoginResult Client::login(std::string_view registry, const Credentials& credentials,
                          Deadline deadline) {
    auto ref = registry_reference(registry);
    auto& s = impl_->settings_for(ref);
    registry::RegistryOptions ro;
    ro.plain_http = s.plain_http;
    ro.retry = s.retry;
    ro.observer = impl_->options.observer;
    // Only the credentials being saved: a check that passed on other ones would prove nothing.
    ro.keychain =
        std::make_shared<auth::StoreKeychain>(std::make_shared<StaticCredentials>(credentials));
    auto checker =
        std::make_shared<registry::Registry>(impl_->http_for(s), ref.api_host(), std::move(ro));
    return impl_->run(
        [&]() -> Task<LoginResult> {
            bool checked = co_await checker->check_credentials();
            auto saved =
                co_await auth::save_login(impl_->source_context, ref.registry, credentials);
            co_return LoginResult{saved.where, saved.unencrypted, checked};
        }(),
        deadline);
}

std::string Client::logout(std::string_view registry, Deadline deadline) {
    auto ref = registry_reference(registry);
    return impl_->run(auth::remove_login(impl_->source_context, ref.registry), deadline);
}

PingResult Client::ping(std::string_view registry, Deadline deadline) {
    return ping(std::vector<std::string>{std::string(registry)}, deadline).front();
}

std::vector<PingResult> Client::ping(const std::vector<std::string>& registries,
                                     Deadline deadline) {
    if (registries.empty())
        fail(Errc::invalid_argument, "name at least one registry to check");
    std::vector<std::pair<std::string, std::string>> targets; // host, repository
    for (auto& r : registries) {
        auto ref = registry_reference(r);
        // The environment's one credential set belongs to the registry named first.
        if (targets.empty())
            impl_->assign_environment(ref, "FLOE_REGISTRY", true);
        targets.emplace_back(ref.api_host(), ping_repository(r, ref));
    }
    return impl_->run(
        [&]() -> Task<std::vector<PingResult>> {
            std::vector<PingResult> results(targets.size());
            transfer::Session session({static_cast<int>(targets.size()), {}, 1});
            co_await session.for_each_index(targets.size(), [&](std::size_t i) -> Task<void> {
                auto& [host, repository] = targets[i];
                results[i] = co_await impl_->ping_one(host, repository);
            });
            co_return results;
        }(),
        deadline);
}

} // namespace floe
