#include "floe/registry/remote_target.hpp"

#include "floe/auth/challenge.hpp"
#include "floe/core/media_types.hpp"
#include "floe/registry/paging.hpp"
#include "floe/registry/upload_policy.hpp"

#include <simdjson.h>

#include <charconv>
#include <limits>

namespace floe::registry {
namespace {

// The registry no longer knows an upload session (it expired, the registry restarted, or its
// Location was garbled on the way): the upload machine asks, hears the session is gone, and
// starts over, under the same budget.
bool session_lost(const Error& e) {
    auto& codes = e.diagnostics().registry_codes;
    return e.errc() == Errc::not_found &&
           std::find(codes.begin(), codes.end(), "BLOB_UPLOAD_UNKNOWN") != codes.end();
}

bool is_manifest_type(const Descriptor& d) {
    return media_type::is_manifest_or_index(d.media_type);
}

// A blob's bytes [at, end) that survives a lost connection: it asks again from the byte it
// reached (Range), under one retry budget for the whole blob, so a stalled or flaky source
// costs a bounded number of attempts however the failures fall.
class ResumingBody final : public BlobReader {
  public:
    ResumingBody(RemoteTarget& target, Descriptor blob, std::uint64_t at, std::uint64_t end,
                 std::optional<http::Response> first = std::nullopt)
        : target_(target), blob_(std::move(blob)), at_(at), end_(end),
          budget_(target.registry().retry_policy()), response_(std::move(first)) {}

    // The first request happens here, so "not found" and refusals surface from fetch().
    Task<void> start() { co_await connect(); }

    Task<std::size_t> read(std::span<std::byte> buf) override {
        while (true) {
            std::optional<Error> lost;
            try {
                if (!response_)
                    co_await connect();
                if (at_ == end_) {
                    co_await ensure_finished();
                    co_return 0;
                }
                auto want =
                    static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), end_ - at_));
                auto n = co_await response_->read(buf.first(want));
                if (n == 0)
                    fail(Errc::verification_failed, "blob " + blob_.digest.str() + " from " +
                                                        target_.describe() + " ended after " +
                                                        std::to_string(at_) + " of " +
                                                        std::to_string(blob_.size) + " bytes");
                at_ += n;
                progressed_ = true;
                co_return n;
            } catch (const Error& e) {
                if (!http::is_retryable(e))
                    throw;
                lost = e;
            }
            response_.reset();
            co_await http::throw_if_cancelled();
            if (!budget_.allow_another(std::exchange(progressed_, false))) {
                auto attempts = budget_.retries();
                fail(Errc::network,
                     std::string(lost->what()) + " (gave up on " + blob_.digest.str() + " after " +
                         std::to_string(attempts) + (attempts == 1 ? " attempt)" : " attempts)"),
                     lost->diagnostics());
            }
            co_await sleep_for(budget_.next_delay());
        }
    }

  private:
    Task<void> connect() {
        auto resp = co_await target_.request_blob(blob_, at_, end_, budget_);
        if (resp.status == 200 && at_ > 0) {
            // The registry ignored Range: skip what we already have.
            response_ = std::move(resp);
            std::vector<std::byte> sink(64 * 1024);
            for (std::uint64_t skipped = 0; skipped < at_;) {
                auto want = std::min<std::uint64_t>(sink.size(), at_ - skipped);
                auto n = co_await response_->read(std::span(sink.data(), want));
                if (n == 0)
                    fail(Errc::verification_failed,
                         "blob " + blob_.digest.str() + " is shorter than its size");
                skipped += n;
            }
            co_return;
        }
        response_ = std::move(resp);
    }

    // A registry that sends more than the blob's size is caught here, not read forever.
    Task<void> ensure_finished() {
        if (!response_)
            co_return;
        if (end_ < blob_.size) { // a range: a registry that ignored Range sends the rest too
            response_.reset();
            co_return;
        }
        std::byte extra[1];
        if (co_await response_->read(extra) > 0)
            fail(Errc::verification_failed, "the registry " + target_.describe() +
                                                " sent more bytes than the size of " +
                                                blob_.digest.str());
        response_.reset();
    }

    RemoteTarget& target_;
    Descriptor blob_;
    std::uint64_t at_, end_;
    http::RetryBudget budget_;
    std::optional<http::Response> response_;
    bool progressed_ = false;
};

// Thrown through the HTTP layers when reading the upload's source failed: that is not the
// connection's fault, so no layer may retry it.
struct SourceFailure {
    std::exception_ptr error;
};

class GuardedReader final : public BlobReader {
  public:
    explicit GuardedReader(BlobReader& inner) : inner_(inner) {}
    Task<std::size_t> read(std::span<std::byte> buf) override {
        std::exception_ptr failure;
        try {
            co_return co_await inner_.read(buf);
        } catch (...) {
            failure = std::current_exception();
        }
        throw SourceFailure{failure};
    }

  private:
    BlobReader& inner_;
};

} // namespace

RemoteTarget::RemoteTarget(std::shared_ptr<Registry> registry, std::string repository, bool push,
                           std::uint64_t chunk_size)
    : registry_(std::move(registry)),
      repository_(std::move(repository)), scopes_{auth::repository_scope(repository_, push)},
      chunk_size_(chunk_size) {}

std::string RemoteTarget::describe() const {
    return registry_->host() + "/" + repository_;
}

http::Call RemoteTarget::api_call(std::string method, std::string target, std::uint64_t max_body,
                                  bool accept_manifests) const {
    http::Call call;
    call.scopes = scopes_;
    call.make = [this, method = std::move(method), target = std::move(target), max_body,
                 accept_manifests] {
        http::Request r;
        r.method = method;
        r.url = registry_->endpoint(target);
        r.max_body = max_body;
        if (accept_manifests)
            r.headers.set("Accept", std::string(media_type::manifest_accept));
        return r;
    };
    return call;
}

std::string RemoteTarget::path(std::string_view kind, std::string_view ref) const {
    return "/v2/" + repository_ + "/" + std::string(kind) + "/" + std::string(ref);
}

http::Url RemoteTarget::checked_location(const http::Response& resp) const {
    auto location = resp.headers.get("Location");
    if (!location)
        fail(Errc::protocol, "the registry " + registry_->host() + " answered HTTP " +
                                 std::to_string(resp.status) + " without a Location");
    return resp.url.follow(*location);
}

Task<bool> RemoteTarget::exists(const Descriptor& desc) {
    auto target = path(is_manifest_type(desc) ? "manifests" : "blobs", desc.digest.str());
    auto call = api_call("HEAD", target, 0, is_manifest_type(desc));
    auto resp = co_await registry_->send(call);
    if (resp.status == 404)
        co_return false;
    co_await Registry::expect(resp, "cannot check " + desc.digest.str() + " in " + describe(), 200);
    co_return !resp.content_length || *resp.content_length == desc.size;
}

Task<http::Response> RemoteTarget::request_blob(const Descriptor& desc, std::uint64_t offset,
                                                std::uint64_t end, http::RetryBudget& budget) {
    auto target = path("blobs", desc.digest.str());
    const bool ranged = offset > 0 || end < desc.size;
    http::Call call{[&] {
                        http::Request r;
                        r.url = registry_->endpoint(target);
                        r.max_body = desc.size;
                        if (ranged)
                            r.headers.set("Range", "bytes=" + std::to_string(offset) + "-" +
                                                       std::to_string(end - 1));
                        return r;
                    },
                    scopes_, true, &budget};
    std::optional<http::Response> answer;
    try {
        answer = co_await registry_->send(call);
    } catch (const Error& e) {
        if (e.errc() != Errc::too_large)
            throw;
        // More bytes announced than the blob has: the content is not what was asked for.
        fail(Errc::verification_failed, "the registry " + describe() +
                                            " announces more bytes for " + desc.digest.str() +
                                            " than its size " + std::to_string(desc.size));
    }
    auto resp = std::move(*answer);
    if (resp.status == 404) {
        co_await Registry::expect(resp, "blob " + desc.digest.str() + " not found in " + describe(),
                                  0);
    }
    co_await Registry::expect(resp, "cannot fetch " + desc.digest.str() + " from " + describe(),
                              200, 206);
    if (resp.status == 206) {
        // The bytes must be the ones asked for: a wrong range would only be caught by the final
        // hash, after the whole blob was read.
        auto range = parse_content_range(resp.headers.get("Content-Range").value_or(""));
        if (!ranged || !range || range->first != offset || range->last != end - 1 ||
            (range->total && *range->total != desc.size))
            fail(Errc::protocol, "the registry answered a Range request for " + desc.digest.str() +
                                     " with the wrong bytes (Content-Range '" +
                                     resp.headers.get("Content-Range").value_or("") + "')");
    }
    co_return resp;
}

Task<std::unique_ptr<BlobReader>> RemoteTarget::fetch(const Descriptor& desc,
                                                      std::uint64_t offset) {
    auto body = std::make_unique<ResumingBody>(*this, desc, offset, desc.size);
    co_await body->start();
    co_return body;
}

Task<std::unique_ptr<BlobReader>>
RemoteTarget::fetch_range(const Descriptor& desc, std::uint64_t offset, std::uint64_t length) {
    http::RetryBudget probe(registry_->retry_policy());
    auto resp = co_await request_blob(desc, offset, offset + length, probe);
    if (resp.status == 200) // the whole blob: ranges are not supported here
        fail(Errc::unsupported, "the registry ignores Range requests");
    co_return std::make_unique<ResumingBody>(*this, desc, offset, offset + length, std::move(resp));
}

Task<bool> RemoteTarget::mount(const Descriptor& desc, std::string_view from) {
    if (from == repository_ || desc.digest.empty())
        co_return false;
    auto scopes = auth::merge_scopes(scopes_, {auth::repository_scope(from, false)});
    auto target = "/v2/" + repository_ +
                  "/blobs/uploads/?mount=" + http::percent_encode(desc.digest.str()) +
                  "&from=" + http::percent_encode(from);
    http::Call call{[&] {
                        http::Request r;
                        r.method = "POST";
                        r.url = registry_->endpoint(target);
                        return r;
                    },
                    scopes, false};
    auto resp = co_await registry_->send(call);
    co_await resp.discard();
    // 201: linked. 202 opens an ordinary session and Harbor answers a failed mount with 401:
    // either way the caller uploads as usual (the session the 202 opened is left to expire).
    co_return resp.status == 201;
}

Task<Descriptor> RemoteTarget::push(Descriptor desc, BlobSource& source) {
    const bool hash_here = desc.digest.empty();
    UploadMachine machine(source.size(), chunk_size_, !hash_here);
    http::RetryBudget budget(registry_->retry_policy());
    Hasher hasher;
    constexpr auto unknown = std::numeric_limits<std::uint64_t>::max();
    std::uint64_t hashed = 0; // bytes fed to the hasher, from the start of the blob
    http::Url location;
    std::unique_ptr<BlobReader> reader;
    std::uint64_t reader_at = 0;
    const auto uploads = "/v2/" + repository_ + "/blobs/uploads/";

    // The source positioned at `offset`; with the digest unknown, the hash is rebuilt from the
    // source's first bytes when the upload goes on from somewhere else than where hashing stopped.
    auto position = [&](std::uint64_t offset) -> Task<void> {
        if (reader && reader_at == offset)
            co_return;
        if (hash_here && hashed != offset) {
            hasher = Hasher();
            hashed = 0;
            if (offset > 0) {
                auto prefix = co_await source.open(0);
                LimitedReader limited(*prefix, offset);
                HashingReader feed(limited, hasher);
                std::vector<std::byte> buf(1024 * 1024);
                while (auto n = co_await feed.read(buf))
                    hashed += n;
                if (hashed != offset)
                    fail(Errc::io, "the upload source of " + describe() + " ended early");
            }
        }
        reader = co_await source.open(offset);
        reader_at = offset;
    };

    while (true) {
        auto step = machine.next();
        std::optional<Error> lost;
        try {
            switch (step.op) {
            case UploadMachine::Op::open: {
                auto call = api_call("POST", uploads);
                call.retry = false; // the upload machine decides what follows a lost step
                auto resp = co_await registry_->send(call);
                co_await Registry::expect(resp, "cannot start an upload to " + describe(), 202);
                location = checked_location(resp);
                auto min_chunk = resp.headers.get("OCI-Chunk-Min-Length");
                co_await resp.discard();
                machine.opened(effective_chunk_size(chunk_size_, min_chunk));
                break;
            }
            case UploadMachine::Op::send: {
                co_await position(step.offset);
                std::string held; // a chunk of a source of unknown length, read to learn its size
                std::optional<LimitedReader> limited;
                std::optional<HashingReader> hashing;
                std::optional<GuardedReader> guarded;
                std::uint64_t length = *step.length;
                bool ended = false;
                if (!source.size()) {
                    held.resize(length);
                    std::uint64_t got = 0;
                    while (got < length) {
                        auto n = co_await reader->read(
                            std::as_writable_bytes(std::span(held.data() + got, length - got)));
                        if (n == 0)
                            break;
                        got += n;
                    }
                    held.resize(got);
                    length = got;
                    ended = got < *step.length;
                    if (length == 0) { // the source ended on a chunk boundary: nothing to send
                        machine.sent(0, true);
                        break;
                    }
                    if (hash_here)
                        hasher.update(std::as_bytes(std::span(held.data(), held.size())));
                    hashed += got;
                    reader_at += got;
                } else {
                    limited.emplace(*reader, length);
                    BlobReader* body = &*limited;
                    if (hash_here) {
                        body = &hashing.emplace(*limited, hasher);
                        hashed = unknown; // until the chunk is acknowledged: a cut leaves a
                                          // hash of bytes the registry may not hold
                    }
                    guarded.emplace(*body);
                }
                http::Call call{[&] {
                                    http::Request r;
                                    r.method = "PATCH";
                                    r.url = location;
                                    r.headers.set("Content-Type", "application/octet-stream");
                                    if (step.content_range)
                                        r.headers.set("Content-Range",
                                                      std::to_string(step.offset) + "-" +
                                                          std::to_string(step.offset + length - 1));
                                    if (guarded) {
                                        r.stream = &*guarded;
                                        r.stream_length = length;
                                    } else {
                                        r.body = held;
                                    }
                                    return r;
                                },
                                scopes_, false};
                auto resp = co_await registry_->send(call);
                if (guarded) { // the whole chunk went through the hasher and the socket
                    if (hash_here)
                        hashed = step.offset + length;
                    reader_at += length;
                }
                if (resp.status == 416) {
                    co_await resp.discard();
                    fail(Errc::network, "the registry refused the chunk's range");
                }
                co_await Registry::expect(resp, "upload to " + describe() + " failed", 202);
                if (resp.headers.get("Location"))
                    location = checked_location(resp); // it may carry new state
                co_await resp.discard();
                machine.sent(length, ended);
                break;
            }
            case UploadMachine::Op::close: {
                if (hash_here)
                    desc.digest = hasher.finish();
                if (!source.size())
                    desc.size = machine.offset();
                auto url = location;
                url.add_query("digest", desc.digest.str());
                std::optional<GuardedReader> guarded;
                if (step.body_on_close) {
                    co_await position(0);
                    guarded.emplace(*reader);
                }
                http::Call call{[&] {
                                    http::Request r;
                                    r.method = "PUT";
                                    r.url = url;
                                    r.headers.set("Content-Type", "application/octet-stream");
                                    if (guarded) {
                                        r.stream = &*guarded;
                                        r.stream_length = *step.length;
                                    }
                                    return r;
                                },
                                scopes_, false};
                auto resp = co_await registry_->send(call);
                if (guarded)
                    reader.reset(); // consumed
                co_await Registry::expect(
                    resp, "upload of " + desc.digest.str() + " to " + describe() + " failed", 201,
                    204);
                auto echoed = resp.headers.get("Docker-Content-Digest");
                co_await resp.discard();
                if (echoed && *echoed != desc.digest.str())
                    fail(Errc::verification_failed,
                         "the registry stored " + desc.digest.str() + " under another digest");
                machine.closed();
                break;
            }
            case UploadMachine::Op::ask: {
                http::Call call{[&] {
                                    http::Request r;
                                    r.url = location;
                                    return r;
                                },
                                scopes_, false};
                auto resp = co_await registry_->send(call);
                auto range = resp.headers.get("Range");
                co_await resp.discard();
                if (resp.status != 204 && resp.status != 200)
                    machine.told(std::nullopt); // the session is gone
                else
                    machine.told(bytes_received(range));
                break;
            }
            case UploadMachine::Op::done:
                if (!source.size() || hash_here)
                    desc.size =
                        machine.offset() > 0 || !source.size() ? machine.offset() : desc.size;
                co_return desc;
            }
            continue;
        } catch (const SourceFailure& f) {
            std::rethrow_exception(f.error);
        } catch (const Error& e) {
            if (!http::is_retryable(e) && !(step.op != UploadMachine::Op::open && session_lost(e)))
                throw;
            lost = e;
        }
        co_await http::throw_if_cancelled();
        if (!budget.allow_another(machine.progressed()))
            fail(Errc::network,
                 std::string(lost->what()) + " (gave up on the upload after " +
                     std::to_string(budget.retries()) +
                     (budget.retries() == 1 ? " attempt)" : " attempts)"),
                 lost->diagnostics());
        reader.reset();
        machine.failed();
        std::string_view retry_after = lost->diagnostics().retry_after;
        co_await sleep_for(budget.next_delay(
            retry_after.empty() ? std::nullopt : std::optional<std::string_view>(retry_after)));
    }
}

Task<Descriptor> RemoteTarget::resolve(std::string_view reference) {
    auto target = path("manifests", reference);
    auto call = api_call("HEAD", target, 0, true);
    auto resp = co_await registry_->send(call);
    if (resp.status == 404)
        fail(Errc::not_found,
             "'" + std::string(reference) + "' not found in " + describe() +
                 "; check the tag or digest",
             {404, {"MANIFEST_UNKNOWN"}, http::redact(resp.url)});
    co_await Registry::expect(
        resp, "cannot resolve " + std::string(reference) + " in " + describe(), 200);
    Descriptor d;
    d.media_type = resp.headers.get("Content-Type").value_or("");
    if (auto semi = d.media_type.find(';'); semi != std::string::npos)
        d.media_type.resize(semi);
    auto echoed = resp.headers.get("Docker-Content-Digest");
    if (Digest::is_valid(reference)) {
        d.digest = Digest::parse(reference);
    } else if (echoed && Digest::is_valid(*echoed)) {
        d.digest = Digest::parse(*echoed); // checked when the manifest is read
    }
    if (resp.content_length && !d.digest.empty() && !d.media_type.empty()) {
        d.size = *resp.content_length;
        co_return d;
    }
    // Without a digest or size in the HEAD answer, the manifest itself tells.
    auto bytes = co_await get_manifest(reference, "cannot read manifest " + std::string(reference));
    auto actual = Digest::of(bytes);
    if (!d.digest.empty() && d.digest != actual)
        fail(Errc::verification_failed, "manifest " + std::string(reference) + " hashes to " +
                                            actual.str() + ", not " + d.digest.str());
    d.digest = actual;
    d.size = bytes.size();
    if (d.media_type.empty())
        d.media_type = sniff_media_type(bytes);
    co_return d;
}

Task<std::string> RemoteTarget::get_manifest(std::string_view reference, std::string what) {
    auto call = api_call("GET", path("manifests", reference), max_manifest_bytes, true);
    auto doc = co_await registry_->fetch_document(call, std::move(what), max_manifest_bytes);
    co_return std::move(doc.body);
}

Task<std::string> RemoteTarget::read_manifest(const Descriptor& desc) {
    if (last_manifest_ && last_manifest_->first == desc.digest) // resolve, check, copy: one GET
        co_return last_manifest_->second;
    auto bytes = co_await get_manifest(
        desc.digest.str(), "cannot read manifest " + desc.digest.str() + " from " + describe());
    verify_bytes(desc, bytes, "manifest from " + describe());
    last_manifest_.emplace(desc.digest, bytes);
    co_return bytes;
}

Task<void> RemoteTarget::push_manifest(const Descriptor& desc, std::string_view bytes,
                                       std::string_view tag) {
    auto target = path("manifests", tag.empty() ? desc.digest.str() : std::string(tag));
    http::Call call{[&] {
                        http::Request r;
                        r.method = "PUT";
                        r.url = registry_->endpoint(target);
                        r.headers.set("Content-Type", desc.media_type);
                        r.body = std::string(bytes);
                        return r;
                    },
                    scopes_};
    auto resp = co_await registry_->send(call); // PUT of the same manifest is idempotent
    co_await Registry::expect(resp, "cannot push manifest to " + describe(), 200, 201, 204);
    auto echoed = resp.headers.get("Docker-Content-Digest");
    co_await resp.discard();
    if (echoed && *echoed != desc.digest.str())
        fail(Errc::verification_failed,
             "the registry stored the manifest " + desc.digest.str() + " under another digest");
}

Task<void> RemoteTarget::tag(const Descriptor& desc, std::string_view tag) {
    auto bytes = co_await read_manifest(desc);
    co_await push_manifest(desc, bytes, tag);
}

Task<TagPage> RemoteTarget::list_tags(const std::optional<std::string>& cursor,
                                      std::size_t page_size) {
    auto target =
        cursor ? *cursor : "/v2/" + repository_ + "/tags/list?n=" + std::to_string(page_size);
    auto call = api_call("GET", target, 4 * 1024 * 1024);
    auto resp = co_await registry_->fetch_document(call, "cannot list tags of " + describe(),
                                                   4 * 1024 * 1024, 404);
    TagPage page;
    if (resp.status == 404) // no repository: no tags
        co_return page;
    auto link = resp.headers.get("Link");
    auto& body = resp.body;
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    simdjson::dom::array list;
    if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS)
        fail(Errc::protocol, "the tag list from " + describe() + " is not JSON");
    if (doc["tags"].get(list) == simdjson::SUCCESS)
        for (auto t : list) {
            std::string_view s;
            if (t.get(s) == simdjson::SUCCESS)
                page.tags.emplace_back(s);
        }
    if (auto next = link ? next_link(*link) : std::nullopt) {
        // The next page stays on this registry: an absolute link elsewhere is refused.
        auto url = resp.url.follow(*next);
        if (url.origin() != resp.url.origin())
            fail(Errc::protocol, "the tag list of " + describe() + " links to another host");
        page.next = url.target;
    }
    co_return page;
}

Task<std::vector<Descriptor>> RemoteTarget::referrers(const Descriptor& subject,
                                                      std::string_view artifact_type) {
    std::vector<Descriptor> out;
    std::string target = path("referrers", subject.digest.str());
    if (!artifact_type.empty())
        target += "?artifactType=" + http::percent_encode(artifact_type);
    for (int page = 0; !target.empty(); ++page) {
        if (page >= 100)
            fail(Errc::protocol, "the referrers of " + subject.digest.str() + " in " + describe() +
                                     " span more than 100 pages");
        http::Call call{[&] {
                            http::Request r;
                            r.url = registry_->endpoint(target);
                            r.max_body = max_manifest_bytes;
                            r.headers.set("Accept", std::string(media_type::oci_index));
                            return r;
                        },
                        scopes_};
        auto resp = co_await registry_->fetch_document(
            call, "cannot list the referrers of " + subject.digest.str() + " in " + describe(),
            max_manifest_bytes, 404);
        if (resp.status == 404 && page == 0) {
            // No referrers API: the tag schema (sha256-<hex>) holds an index of them.
            auto fallback =
                std::string(subject.digest.algorithm_name()) + "-" + subject.digest.hex();
            try {
                auto index_desc = co_await resolve(fallback);
                auto index = parse_index(co_await read_manifest(index_desc));
                for (auto& m : index.manifests)
                    if (artifact_type.empty() || m.artifact_type == artifact_type)
                        out.push_back(m);
            } catch (const Error& e) {
                if (e.errc() != Errc::not_found)
                    throw;
            }
            co_return out;
        }
        if (resp.status == 404)
            fail(Errc::protocol, "a later page of the referrers of " + subject.digest.str() +
                                     " in " + describe() + " is gone");
        auto link = resp.headers.get("Link");
        auto index = parse_index(resp.body);
        for (auto& m : index.manifests)
            if (artifact_type.empty() || m.artifact_type == artifact_type)
                out.push_back(m);
        target.clear();
        if (auto next = link ? next_link(*link) : std::nullopt) {
            auto url = resp.url.follow(*next);
            if (url.origin() != resp.url.origin())
                fail(Errc::protocol,
                     "the referrers list of " + describe() + " links to another host");
            target = url.target;
        }
    }
    co_return out;
}

Task<void> RemoteTarget::remove(const Descriptor& desc) {
    auto target = path(is_manifest_type(desc) ? "manifests" : "blobs", desc.digest.str());
    auto call = api_call("DELETE", target);
    auto resp = co_await registry_->send(call);
    if (resp.status == 405 || resp.status == 400) {
        co_await resp.discard();
        fail(Errc::unsupported,
             describe() + " does not allow deletes (HTTP " + std::to_string(resp.status) + ")");
    }
    if (resp.status == 404) {
        co_await resp.discard();
        fail(Errc::not_found, desc.digest.str() + " is not in " + describe());
    }
    co_await Registry::expect(resp, "cannot delete " + desc.digest.str() + " from " + describe(),
                              200, 202, 204);
    co_await resp.discard();
}

} // namespace floe::registry
