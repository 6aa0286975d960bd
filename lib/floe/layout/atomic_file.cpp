#include "floe/layout/atomic_file.hpp"

#include "floe/core/error.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <random>
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
    auto p = reinterpret_cast<const char*>(bytes.data());
    std::size_t left = bytes.size();
    while (left > 0) {
        auto n = ::write(fd_, p, left);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            fail(Errc::io, "cannot write " + path_.string() + ": " + std::strerror(errno));
        }
        p += n;
        left -= static_cast<std::size_t>(n);
    }
}

void TempFile::write(std::string_view bytes) {
    write(std::span(reinterpret_cast<const std::byte*>(bytes.data()), bytes.size()));
}

void TempFile::commit(const fs::path& final_path) {
    // fdatasync first: after a crash the final name holds the whole content or does not exist.
    if (::fdatasync(fd_) != 0)
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

void write_file_atomic(const fs::path& path, std::string_view bytes) {
    TempFile tmp(path.parent_path());
    tmp.write(bytes);
    tmp.commit(path);
}

} // namespace floe::layout
