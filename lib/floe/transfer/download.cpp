#include "floe/transfer/download.hpp"

#include "floe/core/error.hpp"

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
        session.resumed(blob, file.size());
    }
    if (file.size() < blob.size) {
        auto reader = co_await session.open(src, blob, file.size());
        std::vector<std::byte> buf(1024 * 1024);
        while (true) {
            auto n = co_await reader->read(buf);
            if (n == 0)
                break;
            if (file.size() + n > blob.size)
                fail(Errc::verification_failed, "blob " + blob.digest.str() + " from " +
                                                    src.describe() + " is longer than its size " +
                                                    std::to_string(blob.size));
            std::span<const std::byte> chunk(buf.data(), n);
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
