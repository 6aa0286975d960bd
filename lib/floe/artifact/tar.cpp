#include "floe/artifact/tar.hpp"

#include "floe/artifact/safe_path.hpp"
#include "floe/core/error.hpp"

#include <archive.h>
#include <archive_entry.h>

#include <algorithm>
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

void unpack_archive(const fs::path& archive_path, const fs::path& dest) {
    std::unique_ptr<archive, ArchiveReadDeleter> a(archive_read_new());
    archive_read_support_format_tar(a.get());
    archive_read_support_format_gnutar(a.get());
    archive_read_support_filter_gzip(a.get());
    archive_read_support_filter_zstd(a.get());
    archive_read_support_filter_none(a.get());
    if (archive_read_open_filename(a.get(), archive_path.c_str(), 1024 * 1024) != ARCHIVE_OK)
        fail(Errc::verification_failed,
             "layer is not a readable tar archive: " + archive_message(a.get()));
    fs::create_directories(dest);

    // libarchive's own guards too, on top of our checks: no "..", never write through a
    // symlink. (Names are made absolute under dest by us, after checking them, so its
    // no-absolute-paths guard cannot be used.)
    std::unique_ptr<archive, ArchiveWriteDeleter> disk(archive_write_disk_new());
    archive_write_disk_set_options(disk.get(), ARCHIVE_EXTRACT_SECURE_SYMLINKS |
                                                   ARCHIVE_EXTRACT_SECURE_NODOTDOT |
                                                   ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME);
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
        auto type = archive_entry_filetype(e);
        if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
            fail(Errc::unsafe_path,
                 "tar entry '" + name + "' is a device, fifo or socket; refused");
        if (type == AE_IFLNK) {
            std::string target = archive_entry_symlink(e) ? archive_entry_symlink(e) : "";
            if (!link_stays_inside(name, target))
                fail(Errc::unsafe_path, "tar entry '" + name + "' is a symlink to '" + target +
                                            "', outside the output directory; refused");
        }
        if (const char* hard = archive_entry_hardlink(e)) {
            std::string target = hard;
            check_relative_name(target, "tar hard link target");
            archive_entry_set_hardlink(e, (dest / target).c_str());
        }
        auto full = safe_join(dest, name, "tar entry");
        archive_entry_set_pathname(e, full.c_str());
        archive_entry_set_perm(e, archive_entry_perm(e) & 0777); // no setuid/setgid/sticky
        archive_entry_set_uid(e, ::getuid());
        archive_entry_set_gid(e, ::getgid());
        check(disk.get(), archive_write_header(disk.get(), e), "cannot extract " + name);
        if (archive_entry_size(e) > 0 && type == AE_IFREG) {
            const void* block;
            std::size_t size;
            la_int64_t offset;
            while ((rc = archive_read_data_block(a.get(), &block, &size, &offset)) == ARCHIVE_OK)
                check(disk.get(),
                      static_cast<int>(archive_write_data_block(disk.get(), block, size, offset)),
                      "cannot write " + name);
            if (rc != ARCHIVE_EOF)
                fail(Errc::verification_failed, "corrupt tar layer at '" + name + "'");
        }
        check(disk.get(), archive_write_finish_entry(disk.get()), "cannot finish " + name);
    }
    check(disk.get(), archive_write_close(disk.get()), "cannot finish extracting");
}

} // namespace floe::artifact
