#include "floe/target/target.hpp"

#include "floe/core/error.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace floe {

Task<void> sleep_for(std::chrono::steady_clock::duration duration) {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, duration);
    co_await timer.async_wait(boost::asio::use_awaitable);
}

Task<std::string> read_all(BlobReader& reader, std::size_t cap) {
    std::string out;
    std::byte chunk[64 * 1024];
    while (true) {
        auto n = co_await reader.read(chunk);
        if (n == 0)
            break;
        if (out.size() + n > cap)
            fail(Errc::too_large, "response is larger than the " + std::to_string(cap) +
                                      "-byte limit; refusing to read it");
        out.append(reinterpret_cast<const char*>(chunk), n);
    }
    co_return out;
}

void verify_bytes(const Descriptor& desc, std::string_view bytes, std::string_view where) {
    if (bytes.size() != desc.size)
        fail(Errc::verification_failed, std::string(where) + ": " + desc.digest.str() + " has " +
                                            std::to_string(bytes.size()) + " bytes, expected " +
                                            std::to_string(desc.size) + "; the content is corrupt");
    auto actual = Digest::of(bytes, desc.digest.algorithm());
    if (actual != desc.digest)
        fail(Errc::verification_failed, std::string(where) + ": content hashes to " + actual.str() +
                                            ", expected " + desc.digest.str() +
                                            "; the content is corrupt");
}

Task<std::size_t> HashingReader::read(std::span<std::byte> buf) {
    auto n = co_await inner_.read(buf);
    hasher_.update(std::span<const std::byte>(buf.data(), n));
    co_return n;
}

Task<std::size_t> LimitedReader::read(std::span<std::byte> buf) {
    if (left_ == 0)
        co_return 0;
    auto n = co_await inner_.read(buf.first(std::min<std::uint64_t>(buf.size(), left_)));
    left_ -= n;
    co_return n;
}

Task<std::vector<std::string>> all_tags(TagLister& lister, std::size_t page_size) {
    std::vector<std::string> out;
    std::optional<std::string> cursor;
    do {
        auto page = co_await lister.list_tags(cursor, page_size);
        out.insert(out.end(), page.tags.begin(), page.tags.end());
        if (page.next && page.next == cursor)
            fail(Errc::protocol, "the tag listing of " + lister.describe() + " does not advance");
        cursor = std::move(page.next);
    } while (cursor);
    co_return out;
}

Task<std::unique_ptr<BlobReader>> MemorySource::open(std::uint64_t offset) {
    co_return std::make_unique<MemoryReader>(
        bytes_.substr(std::min<std::size_t>(offset, bytes_.size())));
}

Task<std::unique_ptr<BlobReader>> FetchSource::open_range(std::uint64_t offset,
                                                          std::uint64_t length) {
    auto* ranged = dynamic_cast<RangeFetcher*>(&from_);
    if (!ranged)
        co_return nullptr;
    try {
        co_return co_await ranged->fetch_range(blob_, offset, length);
    } catch (const Error& e) {
        if (e.errc() != Errc::unsupported)
            throw;
    }
    co_return nullptr;
}

Task<std::size_t> MemoryReader::read(std::span<std::byte> buf) {
    auto n = std::min(buf.size(), bytes_.size() - pos_);
    std::memcpy(buf.data(), bytes_.data() + pos_, n);
    pos_ += n;
    co_return n;
}

FileReader::FileReader(const std::string& path, std::uint64_t offset) : path_(path) {
    fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd_ < 0)
        fail(errno == ENOENT ? Errc::not_found : Errc::io,
             "cannot open " + path + ": " + std::strerror(errno));
    ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
    if (offset && ::lseek(fd_, static_cast<off_t>(offset), SEEK_SET) < 0)
        fail(Errc::io, "cannot seek in " + path + ": " + std::strerror(errno));
}

FileReader::~FileReader() {
    if (fd_ >= 0)
        ::close(fd_);
}

Task<std::size_t> FileReader::read(std::span<std::byte> buf) {
    while (true) {
        auto n = ::read(fd_, buf.data(), buf.size());
        if (n >= 0)
            co_return static_cast<std::size_t>(n);
        if (errno != EINTR)
            fail(Errc::io, "cannot read " + path_ + ": " + std::strerror(errno));
    }
}

} // namespace floe
