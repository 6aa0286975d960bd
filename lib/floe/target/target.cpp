#include "floe/target/target.hpp"

#include "floe/core/error.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/stat.h>
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
    std::set<std::string> seen; // a listing whose pages lead in a circle never ends
    do {
        auto page = co_await lister.list_tags(cursor, page_size);
        out.insert(out.end(), page.tags.begin(), page.tags.end());
        // 4 MiB pages of tags, each linking to a new one, must not fill memory.
        if (out.size() > 1'000'000)
            fail(Errc::protocol,
                 "the tag listing of " + lister.describe() + " holds more than 1000000 tags");
        if (page.next && !seen.insert(*page.next).second)
            fail(Errc::protocol, "the tag listing of " + lister.describe() + " does not advance");
        if (seen.size() > 100'000)
            fail(Errc::protocol, "the tag listing of " + lister.describe() + " has no end");
        cursor = std::move(page.next);
    } while (cursor);
    co_return out;
}

Task<std::unique_ptr<BlobReader>> MemorySource::open(std::uint64_t offset) {
    co_return std::make_unique<MemoryReader>(
        bytes_.substr(std::min<std::size_t>(offset, bytes_.size())));
}

namespace {

FileSource::Snapshot snapshot_of(int fd, const std::string& path) {
    struct stat st {};
    if (::fstat(fd, &st) != 0)
        fail(Errc::io, "cannot stat " + path + ": " + std::strerror(errno));
    return {static_cast<std::uint64_t>(st.st_size), static_cast<std::uint64_t>(st.st_ino),
            static_cast<std::uint64_t>(st.st_dev),
            std::int64_t(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
            std::int64_t(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec};
}

// Reads a file and, at its end, checks that the file is still the one first seen.
class CheckedFileReader final : public BlobReader {
  public:
    CheckedFileReader(std::string path, std::uint64_t offset,
                      std::optional<FileSource::Snapshot>& first)
        : path_(std::move(path)), inner_(path_, offset), first_(first), pos_(offset) {
        auto now = snapshot_of(inner_.fd(), path_);
        if (!first_)
            first_ = now;
        else if (now != *first_)
            changed();
    }
    Task<std::size_t> read(std::span<std::byte> buf) override {
        auto n = co_await inner_.read(buf);
        pos_ += n;
        // At the last byte (readers above may never ask past it) or the end: still the same?
        if ((n == 0 || pos_ >= first_->size) && snapshot_of(inner_.fd(), path_) != *first_)
            changed();
        co_return n;
    }

  private:
    [[noreturn]] void changed() const {
        fail(Errc::io, path_ + " changed while it was being pushed (its size, inode or times "
                               "moved); nothing was tagged: push again once it is complete");
    }
    std::string path_;
    FileReader inner_;
    std::optional<FileSource::Snapshot>& first_;
    std::uint64_t pos_;
};

} // namespace

Task<std::unique_ptr<BlobReader>> FileSource::open(std::uint64_t offset) {
    auto reader = std::make_unique<CheckedFileReader>(path_, offset, first_);
    if (first_->size != size_)
        fail(Errc::io, path_ + " changed size since it was packed; push again once it is complete");
    co_return reader;
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
