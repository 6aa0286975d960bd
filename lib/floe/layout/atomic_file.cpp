#include "floe/layout/atomic_file.hpp"

#include "floe/core/error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <random>
#include <sys/file.h>
#include <unistd.h>
#include <vector>

namespace floe::layout {
namespace fs = std::filesystem;

namespace {
std::string random_suffix() {
    static thread_local std::mt19937_64 rng{std::random_device{}()};
    static constexpr char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
    std::string s(12, '0');
    for (auto& c : s)
        c = digits[rng() % 36];
    return s;
}
// write(2) until everything is written (it may write less), retrying on EINTR.
void write_all(int fd, std::span<const std::byte> bytes, const fs::path& path) {
    auto p = reinterpret_cast<const char*>(bytes.data());
    std::size_t left = bytes.size();
    while (left > 0) {
        auto n = ::write(fd, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail(Errc::io, "cannot write " + path.string() + ": " + std::strerror(errno));
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

} // namespace

TempFile::TempFile(const fs::path& dir, std::string_view prefix) {
    for (int i = 0; i < 16 && fd_ < 0; ++i) {
        path_ = dir / (std::string(prefix) + random_suffix());
        fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
        if (fd_ < 0 && errno != EEXIST)
            fail(Errc::io, "cannot create a file in " + dir.string() + ": " + std::strerror(errno));
    }
    if (fd_ < 0)
        fail(Errc::io, "cannot create a temporary file in " + dir.string());
}

TempFile::~TempFile() {
    if (fd_ >= 0)
        ::close(fd_);
    if (!committed_) {
        std::error_code ec;
        fs::remove(path_, ec);
    }
}

void TempFile::write(std::span<const std::byte> bytes) {
    write_all(fd_, bytes, path_);
}

void TempFile::write(std::string_view bytes) {
    write(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
}

void TempFile::commit(const fs::path& final_path, bool durable) {
    if (durable && ::fdatasync(fd_) != 0)
        fail(Errc::io, "cannot flush " + path_.string() + ": " + std::strerror(errno));
    ::close(fd_);
    fd_ = -1;
    if (::rename(path_.c_str(), final_path.c_str()) != 0)
        fail(Errc::io, "cannot rename into " + final_path.string() + ": " + std::strerror(errno));
    committed_ = true;
}

Task<std::unique_ptr<TempFile>> receive_verified(BlobReader& source, const Descriptor& desc,
                                                 const fs::path& dir, std::string_view where) {
    auto file = std::make_unique<TempFile>(dir);
    Hasher hasher(desc.digest.algorithm());
    std::vector<std::byte> buf(1024 * 1024);
    std::uint64_t total = 0;
    while (true) {
        auto n = co_await source.read(buf);
        if (n == 0)
            break;
        total += n;
        if (total > desc.size)
            fail(Errc::verification_failed,
                 std::string(where) + ": " + desc.digest.str() + " is longer than its size " +
                     std::to_string(desc.size) + "; the content is corrupt");
        std::span<const std::byte> chunk(buf.data(), n);
        hasher.update(chunk);
        file->write(chunk);
    }
    if (total != desc.size)
        fail(Errc::verification_failed, std::string(where) + ": " + desc.digest.str() +
                                            " ended after " + std::to_string(total) + " of " +
                                            std::to_string(desc.size) + " bytes");
    auto actual = hasher.finish();
    if (actual != desc.digest)
        fail(Errc::verification_failed, std::string(where) + ": content hashes to " + actual.str() +
                                            ", expected " + desc.digest.str() +
                                            "; the content is corrupt");
    co_return file;
}

PartialFile::PartialFile(fs::path path) : path_(std::move(path)) {
    fd_ = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0)
        fail(Errc::io, "cannot open " + path_.string() + ": " + std::strerror(errno));
    if (::flock(fd_, LOCK_EX | LOCK_NB) != 0) {
        ::close(fd_);
        fd_ = -1;
        fail(Errc::conflict, "another floe process is downloading into " +
                                 path_.parent_path().string() + "; wait for it to finish");
    }
    auto end = ::lseek(fd_, 0, SEEK_END);
    size_ = end > 0 ? static_cast<std::uint64_t>(end) : 0;
}

PartialFile::~PartialFile() {
    if (fd_ >= 0)
        ::close(fd_);
}

void PartialFile::truncate() {
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0)
        fail(Errc::io, "cannot truncate " + path_.string() + ": " + std::strerror(errno));
    size_ = 0;
}

void PartialFile::rehash(Hasher& hasher) {
    std::vector<std::byte> buf(1024 * 1024);
    std::uint64_t left = size_;
    off_t at = 0;
    while (left > 0) {
        auto n = ::pread(fd_, buf.data(), std::min<std::uint64_t>(buf.size(), left), at);
        if (n <= 0)
            fail(Errc::io, "cannot read " + path_.string() + ": " + std::strerror(errno));
        hasher.update(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
        left -= static_cast<std::uint64_t>(n);
        at += n;
    }
    ::lseek(fd_, 0, SEEK_END);
}

void PartialFile::write(std::span<const std::byte> bytes) {
    write_all(fd_, bytes, path_);
    size_ += bytes.size();
}

void PartialFile::commit(const fs::path& final_path, bool durable) {
    if (durable && ::fdatasync(fd_) != 0)
        fail(Errc::io, "cannot flush " + path_.string() + ": " + std::strerror(errno));
    if (::rename(path_.c_str(), final_path.c_str()) != 0)
        fail(Errc::io, "cannot rename into " + final_path.string() + ": " + std::strerror(errno));
    ::close(fd_);
    fd_ = -1;
}

void PartialFile::adopt(const fs::path& other) {
    if (::rename(other.c_str(), path_.c_str()) != 0)
        fail(Errc::io, "cannot rename " + other.string() + ": " + std::strerror(errno));
    int fd = ::open(path_.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0)
        fail(Errc::io, "cannot open " + path_.string() + ": " + std::strerror(errno));
    ::flock(fd, LOCK_EX | LOCK_NB);
    ::close(fd_);
    fd_ = fd;
    auto end = ::lseek(fd_, 0, SEEK_END);
    size_ = end > 0 ? static_cast<std::uint64_t>(end) : 0;
}

void PartialFile::discard() {
    std::error_code ec;
    fs::remove(path_, ec);
    if (fd_ >= 0)
        ::close(fd_);
    fd_ = -1;
}

void write_file_atomic(const fs::path& path, std::string_view bytes) {
    TempFile tmp(path.parent_path());
    tmp.write(bytes);
    tmp.commit(path);
}

} // namespace floe::layout
