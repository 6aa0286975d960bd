#include "floe/registry/remote_target.hpp"

#include "floe/auth/challenge.hpp"
#include "floe/core/media_types.hpp"
#include "floe/registry/errors.hpp"
#include "floe/registry/upload_policy.hpp"

#include <simdjson.h>

#include <charconv>

namespace floe::registry {
namespace {

// A blob body as a BlobReader that owns its response. It stops at the expected length, so a
// registry that sends more than it should is caught by the destination's size check rather than
// read forever.
class BodyReader final : public BlobReader {
  public:
    BodyReader(http::Response r, std::uint64_t remaining)
        : response_(std::move(r)), remaining_(remaining) {}
    Task<std::size_t> read(std::span<std::byte> buf) override {
        auto n = co_await response_.read(buf);
        if (n > remaining_)
            fail(Errc::verification_failed, "the registry sent more bytes than the blob's size");
        remaining_ -= n;
        co_return n;
    }

  private:
    http::Response response_;
    std::uint64_t remaining_;
};

bool is_manifest_type(const Descriptor& d) {
    return media_type::is_manifest_or_index(d.media_type);
}

} // namespace

RemoteTarget::RemoteTarget(std::shared_ptr<Registry> registry, std::string repository, bool push,
                           UploadOptions upload)
    : registry_(std::move(registry)),
      repository_(std::move(repository)), scopes_{auth::repository_scope(repository_, push)},
      upload_(std::move(upload)) {}

std::string RemoteTarget::describe() const {
    return registry_->host() + "/" + repository_;
}

std::string RemoteTarget::path(std::string_view kind, std::string_view ref) const {
    return "/v2/" + repository_ + "/" + std::string(kind) + "/" + std::string(ref);
}

Task<bool> RemoteTarget::exists(const Descriptor& desc) {
    auto target = path(is_manifest_type(desc) ? "manifests" : "blobs", desc.digest.str());
    auto resp = co_await registry_->send(
        [&] {
            http::Request r;
            r.method = "HEAD";
            r.url = registry_->endpoint(target);
            if (is_manifest_type(desc))
                r.headers.set("Accept", std::string(media_type::manifest_accept));
            return r;
        },
        scopes_, true);
    if (resp.status == 200)
        co_return !resp.content_length || *resp.content_length == desc.size;
    if (resp.status == 404)
        co_return false;
    {
        auto error = co_await Registry::error_for(resp, "cannot check " + desc.digest.str() +
                                                            " in " + describe());
        throw error; // (GCC 12 miscompiles "throw co_await")
    }
}

Task<std::unique_ptr<BlobReader>> RemoteTarget::fetch(const Descriptor& desc,
                                                      std::uint64_t offset) {
    auto target = path("blobs", desc.digest.str());
    auto resp = co_await registry_->send(
        [&] {
            http::Request r;
            r.url = registry_->endpoint(target);
            r.max_body = desc.size;
            if (offset > 0)
                r.headers.set("Range", "bytes=" + std::to_string(offset) + "-");
            return r;
        },
        scopes_, true);
    if (resp.status == 404) {
        auto error = co_await Registry::error_for(resp, "blob " + desc.digest.str() +
                                                            " not found in " + describe());
        throw error; // (GCC 12 miscompiles "throw co_await")
    }
    if (resp.status != 200 && resp.status != 206) {
        auto error = co_await Registry::error_for(resp, "cannot fetch " + desc.digest.str() +
                                                            " from " + describe());
        throw error; // (GCC 12 miscompiles "throw co_await")
    }
    const bool range_ignored = offset > 0 && resp.status == 200;
    auto reader = std::make_unique<BodyReader>(std::move(resp),
                                               range_ignored ? desc.size : desc.size - offset);
    if (range_ignored) {
        // The registry ignored Range: skip what we already have.
        std::vector<std::byte> sink(64 * 1024);
        for (std::uint64_t skipped = 0; skipped < offset;) {
            auto want = std::min<std::uint64_t>(sink.size(), offset - skipped);
            auto n = co_await reader->read(std::span(sink.data(), want));
            if (n == 0)
                fail(Errc::verification_failed,
                     "blob " + desc.digest.str() + " is shorter than its size");
            skipped += n;
        }
    }
    co_return reader;
}

Task<std::unique_ptr<BlobReader>>
RemoteTarget::fetch_range(const Descriptor& desc, std::uint64_t offset, std::uint64_t length) {
    auto target = path("blobs", desc.digest.str());
    auto resp = co_await registry_->send(
        [&] {
            http::Request r;
            r.url = registry_->endpoint(target);
            r.max_body = desc.size; // a registry that ignores Range sends it all (refused below)
            r.headers.set("Range", "bytes=" + std::to_string(offset) + "-" +
                                       std::to_string(offset + length - 1));
            return r;
        },
        scopes_, true);
    if (resp.status == 200) { // the whole blob: ranges are not supported here
        resp = http::Response();
        fail(Errc::unsupported, "the registry ignores Range requests");
    }
    if (resp.status != 206) {
        auto error = co_await Registry::error_for(
            resp, "cannot fetch part of " + desc.digest.str() + " from " + describe());
        throw error; // (GCC 12 miscompiles "throw co_await")
    }
    co_return std::make_unique<BodyReader>(std::move(resp), length);
}

Task<void> RemoteTarget::push(const Descriptor& desc, BlobReader& source) {
    // A plain reader can be read once: resuming needs push_from.
    bool opened = false;
    co_await push_from(desc, [&](std::uint64_t offset) -> Task<std::unique_ptr<BlobReader>> {
        if (opened || offset != 0)
            fail(Errc::network, "the upload of " + desc.digest.str() +
                                    " was interrupted and its source cannot be read again");
        opened = true;
        struct Borrowed final : BlobReader {
            BlobReader& inner;
            explicit Borrowed(BlobReader& r) : inner(r) {}
            Task<std::size_t> read(std::span<std::byte> buf) override { return inner.read(buf); }
        };
        co_return std::make_unique<Borrowed>(source);
    });
}

Task<ResumablePush::Outcome> RemoteTarget::push_from(const Descriptor& desc, Open open) {
    for (int attempt = 0;; ++attempt) {
        auto session = co_await start_upload(desc);
        if (!session)
            co_return Outcome::mounted;
        bool lost = false;
        try {
            if (session->chunk_size == 0) { // one PUT with the body
                auto source = co_await open(0);
                co_await finish_upload(desc, session->location, source.get());
            } else {
                auto last = co_await send_patches(desc, *session, open, nullptr);
                if (!last)
                    co_return Outcome::mounted;
                co_await finish_upload(desc, last->location, nullptr);
            }
            co_return Outcome::uploaded;
        } catch (const Error& e) {
            // A lost connection loses a monolithic upload (or a chunked session the registry
            // forgot): start a new session, within the budget.
            if (e.errc() != Errc::network || attempt >= upload_.max_resumes)
                throw;
            lost = true;
        }
        if (lost)
            co_await sleep_for(retry_delay(attempt + 1, std::nullopt));
    }
}

Task<std::optional<RemoteTarget::Session>> RemoteTarget::start_upload(const Descriptor& desc) {
    auto uploads = "/v2/" + repository_ + "/blobs/uploads/";
    for (auto& from : upload_.mount_from) {
        if (from == repository_ || desc.digest.empty())
            continue;
        auto scopes = auth::merge_scopes(scopes_, {auth::repository_scope(from, false)});
        auto resp = co_await registry_->send(
            [&] {
                http::Request r;
                r.method = "POST";
                r.url = registry_->endpoint(uploads +
                                            "?mount=" + http::percent_encode(desc.digest.str()) +
                                            "&from=" + http::percent_encode(from));
                return r;
            },
            scopes, false);
        co_await resp.discard();
        if (resp.status == 201)
            co_return std::nullopt; // linked, nothing to send
        // 202 opens an ordinary session; Harbor answers a failed mount with 401: either way,
        // upload as usual (the session the 202 opened is simply abandoned).
    }
    auto start = co_await registry_->send(
        [&] {
            http::Request r;
            r.method = "POST";
            r.url = registry_->endpoint(uploads);
            return r;
        },
        scopes_, false);
    if (start.status != 202) {
        auto error = co_await Registry::error_for(start, "cannot start an upload to " + describe());
        throw error; // (GCC 12 miscompiles "throw co_await")
    }
    auto location = start.headers.get("Location");
    auto min_chunk = start.headers.get("OCI-Chunk-Min-Length");
    co_await start.discard();
    if (!location)
        fail(Errc::protocol,
             "the registry " + registry_->host() + " started an upload without a Location");
    Session session;
    session.location = start.url.resolve(*location);
    if (start.url.is_https() && !session.location.is_https())
        fail(Errc::protocol,
             "the registry sent a plain-http upload location; refusing to upload there");
    session.chunk_size = effective_chunk_size(upload_.chunk_size, min_chunk);
    co_return session;
}

// PUT <location>?digest=: closes an upload session, with the whole blob as its body (a
// monolithic upload) or with none (after PATCHes).
Task<void> RemoteTarget::finish_upload(const Descriptor& desc, const http::Url& location,
                                       BlobReader* body) {
    auto url = location;
    url.add_query("digest", desc.digest.str());
    auto done = co_await registry_->send(
        [&] {
            http::Request r;
            r.method = "PUT";
            r.url = url;
            r.headers.set("Content-Type", "application/octet-stream");
            if (body) {
                r.stream = body;
                r.stream_length = desc.size;
            }
            return r;
        },
        scopes_, false);
    if (done.status != 201 && done.status != 204) {
        auto error = co_await Registry::error_for(done, "upload of " + desc.digest.str() + " to " +
                                                            describe() + " failed");
        throw error; // (GCC 12 miscompiles "throw co_await")
    }
    auto echoed = done.headers.get("Docker-Content-Digest");
    co_await done.discard();
    if (echoed && *echoed != desc.digest.str())
        fail(Errc::verification_failed,
             "the registry stored " + desc.digest.str() + " as " + *echoed);
}

Task<std::optional<std::uint64_t>> RemoteTarget::upload_status(const http::Url& location) {
    auto resp = co_await registry_->send(
        [&] {
            http::Request r;
            r.url = location;
            return r;
        },
        scopes_, true);
    auto range = resp.headers.get("Range");
    co_await resp.discard();
    if (resp.status != 204 && resp.status != 200)
        co_return std::nullopt; // the session is gone
    co_return bytes_received(range);
}

// Sends the blob in PATCH requests: chunks of session.chunk_size (with Content-Range), or one
// streamed body. After a lost connection it asks the registry how much it holds and goes on
// from there; where the registry cancelled the session (distribution does when a PATCH broke off
// mid-body) it starts a new one. With `running`, the bytes also feed that hash (the digest is not
// known yet): a resume then rebuilds it from the source's first bytes, read again locally.
// Returns the session to close, or nullopt when a restart found the blob mounted.
Task<std::optional<RemoteTarget::Session>> RemoteTarget::send_patches(const Descriptor& desc,
                                                                      Session session,
                                                                      const Open& open,
                                                                      Hasher* running) {
    std::uint64_t offset = 0;
    auto source = co_await open(0);
    int resumes = 0;
    while (offset < desc.size) {
        auto n = session.chunk_size ? std::min(session.chunk_size, desc.size - offset)
                                    : desc.size - offset;
        LimitedReader limited(*source, n);
        std::optional<HashingReader> hashing;
        if (running)
            hashing.emplace(limited, *running);
        BlobReader& body = hashing ? static_cast<BlobReader&>(*hashing) : limited;
        std::string lost;
        try {
            auto resp = co_await registry_->send(
                [&] {
                    http::Request r;
                    r.method = "PATCH";
                    r.url = session.location;
                    r.headers.set("Content-Type", "application/octet-stream");
                    if (session.chunk_size || offset > 0)
                        r.headers.set("Content-Range", std::to_string(offset) + "-" +
                                                           std::to_string(offset + n - 1));
                    r.stream = &body;
                    r.stream_length = n;
                    return r;
                },
                scopes_, false);
            if (resp.status == 202) {
                if (auto location = resp.headers.get("Location"))
                    session.location = resp.url.resolve(*location); // it may carry new state
                co_await resp.discard();
                offset += n;
                continue;
            }
            if (resp.status != 416) {
                auto error =
                    co_await Registry::error_for(resp, "upload to " + describe() + " failed");
                throw error; // (GCC 12 miscompiles "throw co_await")
            }
            co_await resp.discard();
            lost = "the registry refused the chunk's range";
        } catch (const Error& e) {
            if (e.errc() != Errc::network)
                throw;
            lost = e.what();
        }
        if (++resumes > upload_.max_resumes)
            fail(Errc::network, lost + " (gave up after " + std::to_string(upload_.max_resumes) +
                                    " attempts to resume the upload)");
        co_await sleep_for(retry_delay(resumes, std::nullopt));
        auto held = co_await upload_status(session.location);
        if (!held) {
            auto fresh = co_await start_upload(desc);
            if (!fresh)
                co_return std::nullopt; // mounted after all
            session = *fresh;
            held = 0;
        }
        offset = *held;
        if (running) {
            *running = Hasher();
            auto prefix = co_await open(0);
            LimitedReader limited_prefix(*prefix, offset);
            HashingReader feed(limited_prefix, *running);
            std::vector<std::byte> buf(1024 * 1024);
            while (co_await feed.read(buf) > 0) {
            }
        }
        source = co_await open(offset);
    }
    co_return session;
}

Task<Descriptor> RemoteTarget::push_unknown(Descriptor desc, Open open) {
    auto session = co_await start_upload(desc); // never mounted: there is no digest to mount
    Hasher hasher;
    auto last = co_await send_patches(desc, *session, open, &hasher);
    desc.digest = hasher.finish();
    co_await finish_upload(desc, last->location, nullptr);
    co_return desc;
}

Task<Descriptor> RemoteTarget::resolve(std::string_view reference) {
    auto target = path("manifests", reference);
    auto resp = co_await registry_->send(
        [&] {
            http::Request r;
            r.method = "HEAD";
            r.url = registry_->endpoint(target);
            r.headers.set("Accept", std::string(media_type::manifest_accept));
            return r;
        },
        scopes_, true);
    if (resp.status == 404)
        fail(Errc::not_found,
             "'" + std::string(reference) + "' not found in " + describe() +
                 "; check the tag or digest",
             {404, {"MANIFEST_UNKNOWN"}, http::redact(resp.url)});
    if (resp.status != 200) {
        auto error = co_await Registry::error_for(resp, "cannot resolve " + std::string(reference) +
                                                            " in " + describe());
        throw error; // (GCC 12 miscompiles "throw co_await")
    }
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
    if (!resp.content_length || d.digest.empty() || d.media_type.empty()) {
        // Without a digest or size in the HEAD answer, the manifest itself tells.
        auto get = co_await registry_->send(
            [&] {
                http::Request r;
                r.url = registry_->endpoint(target);
                r.max_body = max_manifest_bytes;
                r.headers.set("Accept", std::string(media_type::manifest_accept));
                return r;
            },
            scopes_, true);
        if (get.status != 200) {
            auto error =
                co_await Registry::error_for(get, "cannot read manifest " + std::string(reference));
            throw error; // (GCC 12 miscompiles "throw co_await")
        }
        auto bytes = co_await get.read_all(max_manifest_bytes);
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
    d.size = *resp.content_length;
    co_return d;
}

Task<std::string> RemoteTarget::read_manifest(const Descriptor& desc) {
    auto target = path("manifests", desc.digest.str());
    auto resp = co_await registry_->send(
        [&] {
            http::Request r;
            r.url = registry_->endpoint(target);
            r.max_body = max_manifest_bytes;
            r.headers.set("Accept", std::string(media_type::manifest_accept));
            return r;
        },
        scopes_, true);
    if (resp.status != 200) {
        auto error = co_await Registry::error_for(
            resp, "cannot read manifest " + desc.digest.str() + " from " + describe());
        throw error; // (GCC 12 miscompiles "throw co_await")
    }
    auto bytes = co_await resp.read_all(max_manifest_bytes);
    verify_bytes(desc, bytes, "manifest from " + describe());
    co_return bytes;
}

Task<void> RemoteTarget::push_manifest(const Descriptor& desc, std::string_view bytes,
                                       std::string_view tag) {
    auto target = path("manifests", tag.empty() ? desc.digest.str() : std::string(tag));
    auto resp = co_await registry_->send(
        [&] {
            http::Request r;
            r.method = "PUT";
            r.url = registry_->endpoint(target);
            r.headers.set("Content-Type", desc.media_type);
            r.body = std::string(bytes);
            return r;
        },
        scopes_, true); // PUT of the same manifest is idempotent
    if (resp.status != 201 && resp.status != 200 && resp.status != 204) {
        auto error = co_await Registry::error_for(resp, "cannot push manifest to " + describe());
        throw error; // (GCC 12 miscompiles "throw co_await")
    }
    auto echoed = resp.headers.get("Docker-Content-Digest");
    co_await resp.discard();
    if (echoed && *echoed != desc.digest.str())
        fail(Errc::verification_failed,
             "the registry stored the manifest " + desc.digest.str() + " as " + *echoed);
}

Task<void> RemoteTarget::tag(const Descriptor& desc, std::string_view tag) {
    auto bytes = co_await read_manifest(desc);
    co_await push_manifest(desc, bytes, tag);
}

Task<std::vector<std::string>> RemoteTarget::tags() {
    std::vector<std::string> out;
    std::string next = "/v2/" + repository_ + "/tags/list?n=1000";
    while (!next.empty()) {
        auto resp = co_await registry_->send(
            [&] {
                http::Request r;
                r.url = registry_->endpoint(next);
                return r;
            },
            scopes_, true);
        if (resp.status == 404)
            break; // no repository: no tags
        if (resp.status != 200) {
            auto error = co_await Registry::error_for(resp, "cannot list tags of " + describe());
            throw error; // (GCC 12 miscompiles "throw co_await")
        }
        auto link = resp.headers.get("Link");
        auto body = co_await resp.read_all(1024 * 1024);
        simdjson::dom::parser parser;
        simdjson::dom::element doc;
        simdjson::dom::array list;
        if (parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS)
            fail(Errc::protocol, "the tag list from " + describe() + " is not JSON");
        if (doc["tags"].get(list) == simdjson::SUCCESS)
            for (auto t : list) {
                std::string_view s;
                if (t.get(s) == simdjson::SUCCESS)
                    out.emplace_back(s);
            }
        next.clear();
        // Link: </v2/name/tags/list?n=1000&last=x>; rel="next"
        if (link && link->find("rel=\"next\"") != std::string::npos) {
            auto open = link->find('<'), close = link->find('>');
            if (open != std::string::npos && close > open)
                next = link->substr(open + 1, close - open - 1);
            if (!next.empty() && next.front() != '/')
                next = http::Url::parse(next).target; // absolute: same registry, keep the path
        }
    }
    co_return out;
}

} // namespace floe::registry
