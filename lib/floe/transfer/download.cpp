#include "floe/transfer/download.hpp"

#include "floe/core/error.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <vector>

namespace floe::transfer {
namespace {

using namespace boost::asio::experimental::awaitable_operators;

// Fills `buf` unless the stream ends first: one hand-off to the worker per full buffer.
Task<std::size_t> read_full(BlobReader& reader, std::span<std::byte> buf) {
    std::size_t total = 0;
    while (total < buf.size()) {
        auto n = co_await reader.read(buf.subspan(total));
        if (n == 0)
            break;
        total += n;
    }
    co_return total;
}

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
        // Two buffers: while the worker thread hashes and writes one, the next arrives in the
        // other. Hashing and the network then use both cores instead of taking turns on one.
        std::vector<std::byte> buffers[2] = {std::vector<std::byte>(1024 * 1024),
                                             std::vector<std::byte>(1024 * 1024)};
        int current = 0;
        auto n = co_await read_full(*reader, buffers[current]);
        while (n > 0) {
            if (file.size() + n > blob.size)
                fail(Errc::verification_failed, "blob " + blob.digest.str() + " from " +
                                                    src.describe() + " is longer than its size " +
                                                    std::to_string(blob.size));
            std::span<const std::byte> chunk(buffers[current].data(), n);
            auto process = boost::asio::co_spawn(
                session.workers(),
                [&hasher, &file, chunk]() -> Task<void> {
                    hasher.update(chunk);
                    file.write(chunk);
                    co_return;
                },
                boost::asio::use_awaitable);
            current ^= 1;
            n = co_await (std::move(process) && read_full(*reader, buffers[current]));
        }
    }
    if (file.size() != blob.size)
        fail(Errc::verification_failed, "blob " + blob.digest.str() + " from " + src.describe() +
                                            " ended after " + std::to_string(file.size()) + " of " +
                                            std::to_string(blob.size) + " bytes");
    co_return hasher.finish();
}

} // namespace

Task<void> download(Target& src, const Descriptor& blob, layout::PartialFile& file,
                    Session& session) {
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
