#include "floe/artifact/extract.hpp"

#include "floe/artifact/safe_path.hpp"
#include "floe/artifact/safe_tree.hpp"
#include "floe/artifact/tar.hpp"
#include "floe/core/error.hpp"
#include "floe/core/media_types.hpp"
#include "floe/core/printable.hpp"
#include "floe/layout/atomic_file.hpp"
#include "floe/layout/layout_target.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace floe::artifact {
namespace fs = std::filesystem;

namespace {

// A hidden directory inside `out`, removed with everything in it. It holds an flock for its
// lifetime, so that a later pull can tell the leftovers of a killed run (unlocked) from the
// staging of a pull still running (locked), and clean up the former.
class StagingDir {
  public:
    explicit StagingDir(const fs::path& out) {
        sweep(out);
        std::string tmpl = (out / ".floe-pull-XXXXXX").string();
        if (!::mkdtemp(tmpl.data()))
            fail(Errc::io, "cannot create a staging directory in " + out.string() + ": " +
                               std::strerror(errno));
        path_ = tmpl;
        lock_ = ::open((path_ / ".lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (lock_ >= 0)
            ::flock(lock_, LOCK_EX);
    }
    ~StagingDir() {
        std::error_code ec;
        if (!kept_)
            fs::remove_all(path_, ec);
        if (lock_ >= 0)
            ::close(lock_);
    }
    StagingDir(const StagingDir&) = delete;
    StagingDir& operator=(const StagingDir&) = delete;
    const fs::path& path() const { return path_; }
    // Leaves the directory in place (it holds files that could not be put back).
    void keep() { kept_ = true; }

  private:
    static void sweep(const fs::path& out) {
        std::error_code ec;
        for (auto& entry : fs::directory_iterator(out, ec)) {
            auto name = entry.path().filename().string();
            if (!name.starts_with(".floe-pull-") || !entry.is_directory())
                continue;
            int fd = ::open((entry.path() / ".lock").c_str(), O_RDWR | O_CLOEXEC);
            if (fd < 0)
                continue; // being created right now, or not ours
            if (::flock(fd, LOCK_EX | LOCK_NB) == 0)
                fs::remove_all(entry.path(), ec); // its pull is gone
            ::close(fd);
        }
    }

    fs::path path_;
    int lock_ = -1;
    bool kept_ = false;
};

// Removes a directory at scope exit if it is empty (rmdir semantics); disarmed on success for
// directories that should stay.
struct RemoveIfEmpty {
    fs::path dir;
    bool armed = true;
    ~RemoveIfEmpty() {
        std::error_code ignored;
        if (armed)
            fs::remove(dir, ignored);
    }
};

bool is_tar_layer(const Descriptor& d) {
    return d.annotation(annotation::unpack) == "true" ||
           d.annotation("io.deis.oras.content.unpack") == "true"; // what oras marks
}

} // namespace

fs::path partial_directory(const fs::path& out) {
    return out / ".floe-partial";
}

namespace {

// A layer's verified blob, placed in the staging tree without copying its bytes where possible
// (two layers may share one blob, so the blob itself stays until the staging layout goes).
void place_blob(const fs::path& blob, const SafeTree& items, const std::string& title,
                bool durable) {
    items.make_parents(title);
    auto [dir, leaf] = items.parent_of(title, false);
    if (::linkat(AT_FDCWD, blob.c_str(), dir.get(), leaf.c_str(), 0) == 0)
        return;
    if (errno == EEXIST)
        fail(Errc::unsafe_path, "layer title '" + title + "' names a path another layer wrote");
    // Another file system (or no hard links): copy.
    auto out = items.create_file(title, 0644);
    Fd in(::open(blob.c_str(), O_RDONLY | O_CLOEXEC));
    if (!in)
        fail(Errc::io, "cannot read " + blob.string() + ": " + std::strerror(errno));
    std::vector<char> buf(1024 * 1024);
    while (true) {
        auto n = ::read(in.get(), buf.data(), buf.size());
        if (n < 0)
            fail(Errc::io, "cannot read " + blob.string() + ": " + std::strerror(errno));
        if (n == 0)
            break;
        if (::write(out.get(), buf.data(), static_cast<std::size_t>(n)) != n)
            fail(Errc::io, "cannot write " + title + ": " + std::strerror(errno));
    }
    if (durable)
        ::fdatasync(out.get());
}

// Moves the staged items into `out`, all or nothing: each title that is not inside another
// title's directory is renamed into place (what it replaces, with overwrite, is set aside
// first); a failure puts back everything moved so far and removes the directories it made.
std::vector<ExtractedItem> move_into_place(const SafeTree& items, const fs::path& out,
                                           StagingDir& staging_dir,
                                           const std::vector<Descriptor>& layers, bool overwrite) {
    const fs::path& staging = staging_dir.path();
    std::vector<ExtractedItem> result;
    std::vector<std::string> roots;
    std::set<std::string> titles;
    for (auto& l : layers)
        titles.insert(l.title());
    for (auto& t : titles) {
        bool nested = false;
        for (auto slash = t.find('/'); slash != std::string::npos; slash = t.find('/', slash + 1))
            nested = nested || titles.contains(t.substr(0, slash));
        if (!nested)
            roots.push_back(t);
    }
    SafeTree target(out);
    SafeTree aside(staging / "replaced");
    struct Moved {
        std::string name;
        bool replaced;
    };
    std::vector<Moved> moved;
    std::vector<std::string> made;
    try {
        for (auto& root : roots) {
            for (auto& d : target.make_parents(root))
                made.push_back(d);
            auto [from_dir, from_leaf] = items.parent_of(root, false);
            auto [to_dir, to_leaf] = target.parent_of(root, false);
            struct stat st {};
            bool replaced = ::fstatat(to_dir.get(), to_leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0;
            if (replaced) {
                if (!overwrite)
                    fail(Errc::conflict,
                         (out / root).string() + " already exists; remove it or pass --overwrite");
                auto [aside_dir, aside_leaf] = aside.parent_of(root, true);
                if (::renameat(to_dir.get(), to_leaf.c_str(), aside_dir.get(),
                               aside_leaf.c_str()) != 0)
                    fail(Errc::io,
                         "cannot replace " + (out / root).string() + ": " + std::strerror(errno));
            }
            if (::renameat(from_dir.get(), from_leaf.c_str(), to_dir.get(), to_leaf.c_str()) != 0) {
                if (replaced) { // put the original back before giving up
                    auto [aside_dir, aside_leaf] = aside.parent_of(root, false);
                    ::renameat(aside_dir.get(), aside_leaf.c_str(), to_dir.get(), to_leaf.c_str());
                }
                fail(Errc::io,
                     "cannot move " + root + " into " + out.string() + ": " + std::strerror(errno));
            }
            moved.push_back({root, replaced});
        }
    } catch (...) {
        bool restored = true;
        for (auto it = moved.rbegin(); it != moved.rend(); ++it) {
            try {
                auto [from_dir, from_leaf] = items.parent_of(it->name, true);
                auto [to_dir, to_leaf] = target.parent_of(it->name, false);
                ::renameat(to_dir.get(), to_leaf.c_str(), from_dir.get(), from_leaf.c_str());
                if (it->replaced) {
                    auto [aside_dir, aside_leaf] = aside.parent_of(it->name, false);
                    if (::renameat(aside_dir.get(), aside_leaf.c_str(), to_dir.get(),
                                   to_leaf.c_str()) != 0)
                        restored = false;
                }
            } catch (const Error&) {
                restored = it->replaced ? false : restored;
            }
        }
        for (auto it = made.rbegin(); it != made.rend(); ++it)
            ::unlinkat(target.root_fd(), it->c_str(), AT_REMOVEDIR);
        if (!restored) { // never delete what the user had: say where it is
            staging_dir.keep();
            fail(Errc::io, "the pull failed while moving files into " + out.string() +
                               " and some replaced files could not be put back; they are in " +
                               (staging / "replaced").string());
        }
        throw;
    }
    for (auto& l : layers) {
        struct stat st {};
        auto [dir, leaf] = target.parent_of(l.title(), false);
        bool directory = ::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                         S_ISDIR(st.st_mode);
        result.push_back({l, out / l.title(), directory});
    }
    return result;
}

// Resumable failures keep the staging layout for the next run; others leave nothing.
bool resumable(const std::exception_ptr& failure) {
    try {
        std::rethrow_exception(failure);
    } catch (const Error& e) {
        return e.errc() == Errc::network || e.errc() == Errc::cancelled;
    } catch (...) {
        return true; // an interrupted coroutine (Asio's operation_aborted)
    }
}

} // namespace

Task<ExtractResult> pull_to_directory(ReadOnlyTarget& src, std::string_view reference,
                                      const fs::path& out, transfer::Engine& engine,
                                      const ExtractOptions& options) {
    ExtractResult result;
    result.manifest = co_await src.resolve(reference);
    if (media_type::is_index(result.manifest.media_type))
        fail(Errc::unsupported, "'" + std::string(reference) +
                                    "' is an image index; pull one of its manifests by digest");
    auto bytes = co_await src.read_manifest(result.manifest);
    auto manifest = parse_manifest(bytes);

    // Every name is checked before a single byte is downloaded.
    std::set<std::string> titles;
    std::vector<Descriptor> layers;
    for (auto& layer : manifest.layers) {
        auto title = layer.title();
        if (title.empty()) {
            result.skipped.push_back(layer);
            continue;
        }
        check_relative_name(title, "layer title");
        if (title.starts_with(".floe-"))
            fail(Errc::unsafe_path, "layer title '" + printable(title.substr(0, 200)) +
                                        "' is refused: names starting with .floe- are floe's own "
                                        "staging (the artifact is unsafe to unpack)");
        if (!titles.insert(title).second)
            fail(Errc::unsafe_path, "two layers are titled '" + title + "'; refusing to pick one");
        layers.push_back(layer);
    }
    std::error_code ec;
    RemoveIfEmpty out_guard{out, !fs::exists(out)}; // a directory this pull made goes on failure
    fs::create_directories(out, ec);
    if (ec)
        fail(Errc::io, "cannot create " + out.string() + ": " + ec.message());
    for (auto& layer : layers) {
        auto final_path = safe_join(out, layer.title(), "layer title");
        if (!options.overwrite && fs::exists(fs::symlink_status(final_path)))
            fail(Errc::conflict,
                 final_path.string() + " already exists; remove it or pass --overwrite");
    }

    auto partials = partial_directory(out);
    layout::LayoutTarget staging_layout(partials, options.durable);
    std::exception_ptr failure;
    try {
        // The empty config is known content: written here, never fetched, not a transfer.
        std::set<Digest> present;
        if (manifest.config.digest == empty_config_descriptor().digest) {
            MemorySource empty{std::string(empty_config_bytes)};
            co_await staging_layout.push(manifest.config, empty);
            present.insert(manifest.config.digest);
        }
        co_await engine.copy(src, staging_layout, result.manifest, "", present);
    } catch (...) {
        failure = std::current_exception();
    }
    if (failure) {
        if (!resumable(failure))
            fs::remove_all(partials, ec);
        std::rethrow_exception(failure);
    }
    struct RemoveStagingLayout {
        fs::path dir;
        ~RemoveStagingLayout() {
            std::error_code ignored;
            fs::remove_all(dir, ignored);
        }
    } remove_staging_layout{partials};

    // Every layer into one staging tree, written without following a single link.
    StagingDir staging(out);
    SafeTree items(staging.path() / "items");
    for (auto& layer : layers) {
        auto blob = staging_layout.blob_path(layer.digest);
        if (is_tar_layer(layer))
            unpack_archive(blob, items, layer.title(),
                           unpack_limits(layer.size, options.max_unpacked_size));
        else
            place_blob(blob, items, layer.title(), options.durable);
    }
    items.verify_links(); // a later layer's link can change where an earlier one leads

    result.items = move_into_place(items, out, staging, layers, options.overwrite);
    out_guard.armed = false;
    co_return result;
}

} // namespace floe::artifact
