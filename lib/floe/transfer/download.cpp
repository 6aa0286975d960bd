#include "floe/transfer/download.hpp"

#include "floe/core/error.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <unistd.h>
#include <vector>

namespace floe::transfer {
namespace {

// One attempt: returns the digest of what the file holds at the end.
Task<Digest> fill(Target& src, const Descriptor& blob, layout::PartialFile& file,
                  Session& session) {
    Hasher hasher(blob.digest.algorithm());
    if (file.size() > blob.size)
        file.truncate();
    if (file.size() > 0) {
        file.rehash(hasher); // the bytes on disk count only if they hash into the whole
        session.resumed_from_disk(blob, file.size());
    }
    if (file.size() < blob.size) {
        auto reader = co_await session.open(src, blob, file.size());
        // One buffer, no larger than the blob (small blobs are the common case: no megabyte
        // allocations for them), uninitialised (reads fill it). Hashing inline measured faster
        // than handing buffers to a worker thread: 0.30 s against 0.35-0.49 s for 256 MiB here.
        const auto size = static_cast<std::size_t>(
            std::min<std::uint64_t>(blob.size - file.size() + 1, 1024 * 1024));
        auto buffer = std::make_unique_for_overwrite<std::byte[]>(size);
        while (auto n = co_await reader->read(std::span(buffer.get(), size))) {
            if (file.size() + n > blob.size)
                fail(Errc::verification_failed, "blob " + blob.digest.str() + " from " +
                                                    src.describe() + " is longer than its size " +
                                                    std::to_string(blob.size));
            std::span<const std::byte> chunk(buffer.get(), n);
            hasher.update(chunk);
            file.write(chunk);
        }
    }
    if (file.size() != blob.size)
        fail(Errc::verification_failed, "blob " + blob.digest.str() + " from " + src.describe() +
                                            " ended after " + std::to_string(file.size()) + " of " +
                                            std::to_string(blob.size) + " bytes");
    co_return hasher.finish();
}

// Several ranges at once into a sibling file (pwrite at each range's offset), then one hash of
// the whole. A single TCP stream is window-limited on long links; N streams are not. The sibling
// file never passes for a partial download: if this run dies, the next one starts afresh.
// Returns false when the source does not do ranges.
Task<bool> fill_ranges(RangedFetch& ranged, const Descriptor& blob, layout::PartialFile& file,
                       Session& session) {
    auto path = file.path().string() + ".ranges";
    int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        fail(Errc::io, "cannot create " + path + ": " + std::strerror(errno));
    struct Closer {
        int fd;
        std::string path;
        bool keep = false;
        ~Closer() {
            ::close(fd);
            if (!keep)
                ::unlink(path.c_str());
        }
    } closer{fd, path};
    if (::ftruncate(fd, static_cast<off_t>(blob.size)) != 0)
        fail(Errc::io, "cannot size " + path + ": " + std::strerror(errno));

    const auto parts = static_cast<std::uint64_t>(session.options().range_parts);
    const std::uint64_t part_size = (blob.size + parts - 1) / parts;
    std::uint64_t total = 0;
    bool unsupported = false;
    co_await session.for_each_index(parts, [&](std::size_t i) -> Task<void> {
        std::uint64_t start = i * part_size;
        std::uint64_t end = std::min(blob.size, start + part_size);
        std::uint64_t at = start;
        std::vector<std::byte> buf(1024 * 1024);
        for (int resumes = 0; at < end && !unsupported;) {
            std::string lost;
            try {
                auto reader = co_await ranged.fetch_range(blob, at, end - at);
                while (at < end) {
                    auto n = co_await reader->read(buf);
                    if (n == 0)
                        break;
                    if (::pwrite(fd, buf.data(), n, static_cast<off_t>(at)) !=
                        static_cast<ssize_t>(n))
                        fail(Errc::io, "cannot write " + path + ": " + std::strerror(errno));
                    at += n;
                    total += n;
                    session.moved(blob, total, n);
                }
                if (at < end)
                    fail(Errc::network, "a range of " + blob.digest.str() + " ended early");
            } catch (const Error& e) {
                if (e.errc() == Errc::unsupported) {
                    unsupported = true;
                    co_return;
                }
                if (e.errc() != Errc::network || ++resumes > session.options().max_resumes)
                    throw;
                lost = e.what();
            }
            if (!lost.empty())
                session.retried(blob, lost);
        }
    });
    if (unsupported)
        co_return false;
    closer.keep = true;
    file.adopt(path);
    co_return true;
}

} // namespace

Task<void> download(Target& src, const Descriptor& blob, layout::PartialFile& file,
                    Session& session) {
    auto* ranged = dynamic_cast<RangedFetch*>(&src);
    if (ranged && session.options().range_parts > 1 && file.size() == 0 &&
        blob.size >= session.options().range_threshold) {
        if (co_await fill_ranges(*ranged, blob, file, session)) {
            // Hash the whole on the worker thread; the file is in the page cache.
            auto actual = co_await boost::asio::co_spawn(
                session.workers(),
                [&]() -> Task<Digest> {
                    Hasher hasher(blob.digest.algorithm());
                    file.rehash(hasher);
                    co_return hasher.finish();
                },
                boost::asio::use_awaitable);
            if (actual == blob.digest && file.size() == blob.size)
                co_return;
            file.discard();
            fail(Errc::verification_failed, "content from " + src.describe() + " hashes to " +
                                                actual.str() + ", expected " + blob.digest.str() +
                                                "; the content is corrupt");
        }
    }
    const bool had_partial = file.size() > 0;
    for (int attempt = 0;; ++attempt) {
        std::string failure;
        try {
            auto actual = co_await fill(src, blob, file, session);
            if (actual == blob.digest)
                co_return;
            failure = "content from " + src.describe() + " hashes to " + actual.str() +
                      ", expected " + blob.digest.str() + "; the content is corrupt";
        } catch (const Error& e) {
            if (e.errc() != Errc::verification_failed)
                throw; // network failures keep the partial file for the next run
            failure = e.what();
        }
        if (attempt == 0 && had_partial) { // maybe the old bytes were bad: once more from zero
            file.truncate();
            continue;
        }
        file.discard();
        fail(Errc::verification_failed, failure);
    }
}

} // namespace floe::transfer
