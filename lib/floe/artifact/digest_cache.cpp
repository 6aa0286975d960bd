#include "floe/artifact/digest_cache.hpp"

#include <cstdlib>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <unistd.h>

namespace floe::artifact {
namespace fs = std::filesystem;

namespace {

struct Key {
    unsigned long long dev, ino;
    long long size, mtime_ns, ctime_ns;
};

std::optional<Key> stat_key(const fs::path& file) {
    struct stat st {};
    if (::stat(file.c_str(), &st) != 0 || !S_ISREG(st.st_mode))
        return std::nullopt;
    return Key{static_cast<unsigned long long>(st.st_dev),
               static_cast<unsigned long long>(st.st_ino), static_cast<long long>(st.st_size),
               static_cast<long long>(st.st_mtim.tv_sec) * 1'000'000'000 + st.st_mtim.tv_nsec,
               static_cast<long long>(st.st_ctim.tv_sec) * 1'000'000'000 + st.st_ctim.tv_nsec};
}

constexpr std::size_t max_entries = 100'000; // past this the file starts over

} // namespace

fs::path DigestCache::default_path() {
    if (const char* d = std::getenv("FLOE_CACHE_DIR"); d && *d)
        return fs::path(d) / "file-digests";
    if (const char* d = std::getenv("XDG_CACHE_HOME"); d && *d)
        return fs::path(d) / "floe" / "file-digests";
    if (const char* h = std::getenv("HOME"); h && *h)
        return fs::path(h) / ".cache" / "floe" / "file-digests";
    return {};
}

DigestCache::DigestCache(fs::path path) : path_(std::move(path)) {
    if (path_.empty())
        return;
    std::ifstream in(path_);
    std::string line;
    // <dev> <ino> <size> <mtime_ns> <ctime_ns> <digest>; later lines win.
    while (std::getline(in, line)) {
        std::istringstream fields(line);
        unsigned long long dev, ino;
        long long size, mtime, ctime;
        std::string digest;
        if (!(fields >> dev >> ino >> size >> mtime >> ctime >> digest) ||
            !Digest::is_valid(digest))
            continue; // damaged line: ignore
        entries_[{dev, ino}] = Entry{size, mtime, ctime, Digest::parse(digest)};
    }
    if (entries_.size() > max_entries) {
        entries_.clear();
        std::error_code ec;
        fs::remove(path_, ec);
    }
}

std::optional<Digest> DigestCache::lookup(const fs::path& file) const {
    auto key = stat_key(file);
    if (!key)
        return std::nullopt;
    auto it = entries_.find({key->dev, key->ino});
    if (it == entries_.end() || it->second.size != key->size ||
        it->second.mtime_ns != key->mtime_ns || it->second.ctime_ns != key->ctime_ns)
        return std::nullopt;
    return it->second.digest;
}

void DigestCache::remember(const fs::path& file, const Digest& digest,
                           std::chrono::system_clock::time_point hashing_began) {
    auto key = stat_key(file);
    if (!key || path_.empty())
        return;
    auto began_ns =
        std::chrono::duration_cast<std::chrono::nanoseconds>(hashing_began.time_since_epoch())
            .count();
    if (key->ctime_ns >= began_ns - 1'000'000'000 || key->mtime_ns >= began_ns - 1'000'000'000)
        return; // racily new: a change in the same clock tick would not show in its stat
    if (auto known = lookup(file); known && *known == digest)
        return;
    entries_[{key->dev, key->ino}] = Entry{key->size, key->mtime_ns, key->ctime_ns, digest};
    std::error_code ec;
    fs::create_directories(path_.parent_path(), ec);
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0)
        return;
    std::string line = std::to_string(key->dev) + " " + std::to_string(key->ino) + " " +
                       std::to_string(key->size) + " " + std::to_string(key->mtime_ns) + " " +
                       std::to_string(key->ctime_ns) + " " + digest.str() + "\n";
    // One write with O_APPEND: concurrent floe processes do not interleave within a line.
    [[maybe_unused]] auto n = ::write(fd, line.data(), line.size());
    ::close(fd);
}

} // namespace floe::artifact
