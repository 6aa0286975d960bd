#include "floe/auth/private_file.hpp"

#include "floe/core/error.hpp"
#include "floe/core/fd.hpp"
#include "floe/core/printable.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace floe::auth {
namespace fs = std::filesystem;

namespace {

std::string shown(const fs::path& p) {
    return printable(p.string());
}

// mkdir -p where every directory created is private (0700, as docker creates ~/.docker).
void make_private_dirs(const fs::path& dir) {
    if (dir.empty() || fs::is_directory(dir))
        return;
    make_private_dirs(dir.parent_path());
    if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
        fail(Errc::io, "cannot create " + shown(dir) + ": " + std::strerror(errno));
}

void write_all(int fd, std::string_view bytes, const fs::path& path) {
    while (!bytes.empty()) {
        auto n = ::write(fd, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail(Errc::io, "cannot write " + shown(path) + ": " + std::strerror(errno));
        bytes.remove_prefix(static_cast<std::size_t>(n));
    }
}

} // namespace

// The file's text; nullopt when it does not exist. Anything else that stops it being read (a
// permission, a directory or a FIFO in its place, a huge file) is an error naming it.
std::optional<std::string> read_local_file(const fs::path& path, std::string_view what,
                                           std::size_t max_size) {
    // O_NONBLOCK: a FIFO put in the file's place must not hang the open.
    Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
    if (fd.get() < 0) {
        if (errno == ENOENT)
            return std::nullopt;
        fail(Errc::io, "cannot read " + std::string(what) + " " + shown(path) + ": " +
                           std::strerror(errno) + "; fix its permissions or remove it");
    }
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0 || !S_ISREG(st.st_mode))
        fail(Errc::io, std::string(what) + " " + shown(path) + " is not a regular file");
    std::string text;
    char buf[64 * 1024];
    while (true) {
        auto n = ::read(fd.get(), buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            fail(Errc::io, "cannot read " + std::string(what) + " " + shown(path) + ": " +
                               std::strerror(errno));
        if (n == 0)
            break;
        text.append(buf, static_cast<std::size_t>(n));
        if (text.size() > max_size)
            fail(Errc::too_large, std::string(what) + " " + shown(path) + " is larger than " +
                                      std::to_string(max_size >> 10) + " KiB; it is not one");
    }
    return text;
}

// Replaces the file atomically (a reader sees the old text or the new, never a mix) with mode
// 0600 whatever the umask: the temporary file is created 0600 (mkstemp), so the secret is never
// readable by others, not even for a moment. A symlinked config.json is written through.
void write_private_file(const fs::path& path, std::string_view text, bool through_symlink) {
    make_private_dirs(path.parent_path());
    std::error_code ec;
    fs::path target = through_symlink && fs::is_symlink(path, ec) ? fs::canonical(path, ec) : path;
    if (ec || target.empty())
        target = path;
    std::string name = (target.parent_path() / ".floe-credentials-XXXXXX").string();
    Fd fd(::mkostemp(name.data(), O_CLOEXEC));
    if (fd.get() < 0)
        fail(Errc::io, "cannot create a file in " + shown(target.parent_path()) + ": " +
                           std::strerror(errno));
    try {
        if (::fchmod(fd.get(), 0600) != 0)
            fail(Errc::io,
                 "cannot set the mode of " + printable(name) + ": " + std::strerror(errno));
        write_all(fd.get(), text, name);
        if (::fsync(fd.get()) != 0)
            fail(Errc::io, "cannot flush " + printable(name) + ": " + std::strerror(errno));
        ::close(fd.release());
        if (::rename(name.c_str(), target.c_str()) != 0)
            fail(Errc::io, "cannot replace " + shown(target) + ": " + std::strerror(errno));
    } catch (...) {
        ::unlink(name.c_str());
        throw;
    }
}

} // namespace floe::auth
