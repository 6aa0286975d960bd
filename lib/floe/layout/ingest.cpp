#include "floe/layout/ingest.hpp"

#include "floe/core/error.hpp"
#include "floe/layout/layout_target.hpp"

#include <boost/asio/experimental/awaitable_operators.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <functional>
#include <unistd.h>
#include <vector>

namespace floe::layout {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

// One attempt: returns the digest of what the file holds at the end.
Task<Digest> fill(BlobSource& source, const Descriptor& blob, PartialFile& file,
                  std::string_view where) {
    Hasher hasher(blob.digest.algorithm());
    if (file.size() > blob.size)
        file.truncate();
    if (file.size() > 0)
        file.rehash(hasher); // the bytes on disk count only if they hash into the whole
    if (file.size() < blob.size) {
        auto reader = co_await source.open(file.size());
        // One buffer, no larger than the blob (small blobs are the common case: no megabyte
        // allocations for them), uninitialised (reads fill it). Hashing inline measured faster
        // than handing buffers to a worker thread: 0.30 s against 0.35-0.49 s for 256 MiB here.
        const auto size = static_cast<std::size_t>(
            std::min<std::uint64_t>(blob.size - file.size() + 1, 1024 * 1024));
        auto buffer = std::make_unique_for_overwrite<std::byte[]>(size);
        while (auto n = co_await reader->read(std::span(buffer.get(), size))) {
            if (file.size() + n > blob.size)
                fail(Errc::verification_failed,
                     "blob " + blob.digest.str() + " from " + std::string(where) +
                         " is longer than its size " + std::to_string(blob.size));
            std::span<const std::byte> chunk(buffer.get(), n);
            hasher.update(chunk);
            file.write(chunk);
        }
    }
    if (file.size() != blob.size)
        fail(Errc::verification_failed,
             "blob " + blob.digest.str() + " from " + std::string(where) + " ended after " +
                 std::to_string(file.size()) + " of " + std::to_string(blob.size) + " bytes");
    co_return hasher.finish();
}

// Several ranges at once into a sibling file (pwrite at each range's offset), then one hash of
// the whole. A single TCP stream is window-limited on long links; N streams are not. The sibling
// file never passes for a partial download: if this run dies, the next one starts afresh.
// Returns false when the source does not do ranges.
Task<bool> fill_ranges(BlobSource& source, const Descriptor& blob, PartialFile& file) {
    const auto parts = static_cast<std::uint64_t>(source.range_parts());
    const std::uint64_t part_size = (blob.size + parts - 1) / parts;
    std::vector<std::unique_ptr<BlobReader>> readers;
    for (std::uint64_t i = 0; i < parts; ++i) {
        std::uint64_t start = i * part_size;
        std::uint64_t end = std::min(blob.size, start + part_size);
        if (start >= end)
            break;
        auto reader = co_await source.open_range(start, end - start);
        if (!reader)
            co_return false;
        readers.push_back(std::move(reader));
    }
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

    auto one = [&](std::size_t i) -> Task<void> {
        std::uint64_t at = i * part_size;
        const std::uint64_t end = std::min(blob.size, at + part_size);
        std::vector<std::byte> buf(1024 * 1024);
        while (at < end) {
            auto n = co_await readers[i]->read(
                std::span(buf.data(), std::min<std::uint64_t>(buf.size(), end - at)));
            if (n == 0)
                fail(Errc::verification_failed, "a range of " + blob.digest.str() + " ended early");
            if (::pwrite(fd, buf.data(), n, static_cast<off_t>(at)) != static_cast<ssize_t>(n))
                fail(Errc::io, "cannot write " + path + ": " + std::strerror(errno));
            at += n;
        }
    };
    // All parts at once; the first failure cancels the others.
    std::function<Task<void>(std::size_t)> all = [&](std::size_t i) -> Task<void> {
        if (i + 1 >= readers.size())
            co_await one(i);
        else
            co_await (one(i) && all(i + 1));
    };
    co_await all(0);
    closer.keep = true;
    file.adopt(path);
    co_return true;
}

} // namespace

Task<void> receive_blob(BlobSource& source, const Descriptor& blob, PartialFile& file,
                        std::string_view where) {
    if (source.range_parts() > 1 && file.size() == 0 && blob.size >= range_threshold) {
        if (co_await fill_ranges(source, blob, file)) {
            Hasher hasher(blob.digest.algorithm());
            file.rehash(hasher);
            auto actual = hasher.finish();
            if (actual == blob.digest && file.size() == blob.size)
                co_return;
            file.discard();
            fail(Errc::verification_failed, "content from " + std::string(where) + " hashes to " +
                                                actual.str() + ", expected " + blob.digest.str() +
                                                "; the content is corrupt");
        }
    }
    // A mismatch gets one more try from byte zero: the bytes kept from an earlier run may be
    // the bad ones, or one flipped on the way (a faulty proxy); a blob that is corrupt at the
    // source fails twice.
    for (int attempt = 0;; ++attempt) {
        std::string failure;
        try {
            auto actual = co_await fill(source, blob, file, where);
            if (actual == blob.digest)
                co_return;
            failure = "content from " + std::string(where) + " hashes to " + actual.str() +
                      ", expected " + blob.digest.str() + "; the content is corrupt";
        } catch (const Error& e) {
            if (e.errc() != Errc::verification_failed)
                throw; // network failures keep the partial file for the next run
            failure = e.what();
        }
        if (attempt == 0) {
            file.truncate();
            continue;
        }
        file.discard();
        fail(Errc::verification_failed, failure);
    }
}

} // namespace floe::layout
