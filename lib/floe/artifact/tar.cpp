#include "floe/artifact/tar.hpp"

#include "floe/artifact/safe_path.hpp"
#include "floe/artifact/safe_tree.hpp"
#include "floe/core/error.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <memory>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace floe::artifact {
namespace fs = std::filesystem;

namespace {

struct ArchiveWriteDeleter {
    void operator()(archive* a) const { archive_write_free(a); }
};
struct ArchiveReadDeleter {
    void operator()(archive* a) const { archive_read_free(a); }
};
struct EntryDeleter {
    void operator()(archive_entry* e) const { archive_entry_free(e); }
};

std::string archive_message(archive* a) {
    const char* m = archive_error_string(a);
    return m ? m : "libarchive error";
}

void check(archive* a, int rc, const std::string& what) {
    if (rc < ARCHIVE_WARN)
        fail(Errc::io, what + ": " + archive_message(a));
}

// Lexically resolves a link target relative to the entry's directory; true if it stays inside.
bool link_stays_inside(std::string_view entry_name, std::string_view target) {
    if (target.empty() || target.front() == '/')
        return false;
    fs::path resolved = (fs::path(entry_name).parent_path() / fs::path(target)).lexically_normal();
    auto first = resolved.begin();
    return first == resolved.end() || (*first != ".." && !resolved.is_absolute());
}

} // namespace

void pack_directory(const fs::path& dir, const fs::path& out, Compression compression,
                    std::optional<std::int64_t> mtime_clamp) {
    std::vector<fs::path> entries;
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::end(it);
         it.increment(ec))
        entries.push_back(it->path());
    if (ec)
        fail(Errc::io, "cannot read directory " + dir.string() + ": " + ec.message());
    std::sort(entries.begin(), entries.end()); // stable order: stable digest

    std::unique_ptr<archive, ArchiveWriteDeleter> a(archive_write_new());
    archive_write_set_format_pax_restricted(a.get());
    if (compression == Compression::gzip) {
        archive_write_add_filter_gzip(a.get());
        archive_write_set_filter_option(a.get(), "gzip", "timestamp", nullptr); // no mtime
    } else {
        archive_write_add_filter_zstd(a.get());
    }
    check(a.get(), archive_write_open_filename(a.get(), out.c_str()),
          "cannot write " + out.string());

    std::vector<char> buf(1024 * 1024);
    for (auto& path : entries) {
        auto rel = path.lexically_relative(dir).generic_string(); // fs::relative follows links
        struct stat st {};
        if (::lstat(path.c_str(), &st) != 0)
            fail(Errc::io, "cannot stat " + path.string());
        std::unique_ptr<archive_entry, EntryDeleter> e(archive_entry_new());
        archive_entry_set_pathname(e.get(), rel.c_str());
        archive_entry_set_perm(e.get(), st.st_mode & 0777);
        auto mtime = static_cast<std::int64_t>(st.st_mtime);
        if (mtime_clamp)
            mtime = std::min(mtime, *mtime_clamp);
        archive_entry_set_mtime(e.get(), mtime, 0);
        if (S_ISREG(st.st_mode)) {
            archive_entry_set_filetype(e.get(), AE_IFREG);
            archive_entry_set_size(e.get(), st.st_size);
        } else if (S_ISDIR(st.st_mode)) {
            archive_entry_set_filetype(e.get(), AE_IFDIR);
        } else if (S_ISLNK(st.st_mode)) {
            auto target = fs::read_symlink(path).string();
            if (!link_stays_inside(rel, target))
                fail(Errc::invalid_artifact, "symlink " + path.string() + " -> " + target +
                                                 " points outside " + dir.string() +
                                                 "; replace it with the file itself");
            archive_entry_set_filetype(e.get(), AE_IFLNK);
            archive_entry_set_symlink(e.get(), target.c_str());
        } else {
            fail(Errc::invalid_artifact,
                 path.string() +
                     " is not a regular file, directory or symlink; remove it before pushing");
        }
        check(a.get(), archive_write_header(a.get(), e.get()), "cannot add " + rel);
        if (S_ISREG(st.st_mode)) {
            int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                fail(Errc::io, "cannot open " + path.string());
            std::int64_t left = st.st_size;
            while (left > 0) {
                auto n = ::read(fd, buf.data(), buf.size());
                if (n <= 0) {
                    ::close(fd);
                    fail(Errc::io,
                         "cannot read " + path.string() + " (did it change while packing?)");
                }
                archive_write_data(a.get(), buf.data(), static_cast<std::size_t>(n));
                left -= n;
            }
            ::close(fd);
        }
    }
    check(a.get(), archive_write_close(a.get()), "cannot finish " + out.string());
}

UnpackLimits unpack_limits(std::uint64_t compressed, std::uint64_t max_unpacked) {
    constexpr std::uint64_t MiB = 1024 * 1024;
    UnpackLimits l;
    l.max_entries = 1'000'000;
    if (max_unpacked) {
        l.max_bytes = max_unpacked;
        return l;
    }
    const std::uint64_t ratio =
        compressed > (64 * 1024 * MiB) / 100 ? 64 * 1024 * MiB : compressed * 100;
    l.max_bytes =
        std::min<std::uint64_t>(std::max<std::uint64_t>(ratio, 256 * MiB), 64 * 1024 * MiB);
    return l;
}

void unpack_archive(const fs::path& archive_path, const SafeTree& tree, std::string_view prefix,
                    const UnpackLimits& limits) {
    std::unique_ptr<archive, ArchiveReadDeleter> a(archive_read_new());
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_zstd(a.get());
    archive_read_support_filter_none(a.get());
    if (archive_read_open_filename(a.get(), archive_path.c_str(), 1024 * 1024) != ARCHIVE_OK)
        fail(Errc::verification_failed,
             "layer is not a readable tar archive: " + archive_message(a.get()));
    const std::string root(prefix);
    tree.make_directories(root);
    auto under = [&](const std::string& name) { return root + "/" + name; };
    auto over_limit = [&](const std::string& what) {
        fail(Errc::verification_failed,
             "layer '" + root + "' unpacks to more than " + what +
                 "; refusing it as a decompression bomb (raise the limit with "
                 "--max-unpacked-size if the artifact is trusted)");
    };

    // Links last: they are created once every file and directory is in place, each only when
    // it provably stays inside (and never followed while writing).
    std::vector<std::pair<std::string, std::string>> symlinks;
    std::uint64_t written = 0, entries = 0;
    archive_entry* e = nullptr;
    while (true) {
        int rc = archive_read_next_header(a.get(), &e);
        if (rc == ARCHIVE_EOF)
            break;
        if (rc < ARCHIVE_WARN)
            fail(Errc::verification_failed, "corrupt tar layer: " + archive_message(a.get()));
        std::string name = archive_entry_pathname(e) ? archive_entry_pathname(e) : "";
        while (name.starts_with("./"))
            name.erase(0, 2);
        while (name.size() > 1 && name.back() == '/')
            name.pop_back();
        if (name.empty() || name == ".")
            continue; // the archive's root directory entry
        check_relative_name(name, "tar entry");
        if (++entries > limits.max_entries)
            over_limit(std::to_string(limits.max_entries) + " entries");
        auto type = archive_entry_filetype(e);
        if (const char* hard = archive_entry_hardlink(e)) {
            std::string target = hard;
            while (target.starts_with("./"))
                target.erase(0, 2);
            check_relative_name(target, "tar hard link target");
            tree.link_file(under(name), under(target));
            continue;
        }
        if (type == AE_IFDIR) {
            tree.make_directories(under(name), archive_entry_perm(e) & 0777);
        } else if (type == AE_IFLNK) {
            symlinks.emplace_back(name, archive_entry_symlink(e) ? archive_entry_symlink(e) : "");
        } else if (type == AE_IFREG) {
            // No setuid/setgid/sticky; always readable and writable by the owner.
            auto fd = tree.create_file(under(name), (archive_entry_perm(e) & 0777) | 0600);
            const void* block;
            std::size_t size;
            la_int64_t offset;
            while ((rc = archive_read_data_block(a.get(), &block, &size, &offset)) == ARCHIVE_OK) {
                auto end = static_cast<std::uint64_t>(offset) + size;
                written += size;
                if (written > limits.max_bytes || end > limits.max_bytes)
                    over_limit(std::to_string(limits.max_bytes) + " bytes");
                auto* p = static_cast<const char*>(block);
                while (size > 0) {
                    auto n = ::pwrite(fd.get(), p, size, static_cast<off_t>(offset));
                    if (n < 0)
                        fail(Errc::io, "cannot write " + name + ": " + std::strerror(errno));
                    p += n;
                    size -= static_cast<std::size_t>(n);
                    offset += n;
                }
            }
            if (rc != ARCHIVE_EOF)
                fail(Errc::verification_failed, "corrupt tar layer at '" + name + "'");
            // A sparse file's trailing hole.
            if (auto length = archive_entry_size(e); length > 0) {
                if (static_cast<std::uint64_t>(length) > limits.max_bytes)
                    over_limit(std::to_string(limits.max_bytes) + " bytes");
                if (::ftruncate(fd.get(), length) != 0)
                    fail(Errc::io, "cannot size " + name + ": " + std::strerror(errno));
            }
            struct timespec times[2] = {{0, UTIME_OMIT}, {archive_entry_mtime(e), 0}};
            ::futimens(fd.get(), times);
        } else {
            fail(Errc::unsafe_path,
                 "tar entry '" + name + "' is a device, fifo or socket; refused");
        }
    }
    for (auto& [name, target] : symlinks)
        tree.symlink(under(name), target);
}

} // namespace floe::artifact
