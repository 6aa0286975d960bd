#include "floe/artifact/extract.hpp"

#include "floe/artifact/safe_path.hpp"
#include "floe/artifact/tar.hpp"
#include "floe/core/error.hpp"
#include "floe/core/media_types.hpp"
#include "floe/layout/atomic_file.hpp"
#include "floe/layout/layout_target.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <set>
#include <sys/file.h>
#include <unistd.h>

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
        fs::remove_all(path_, ec);
        if (lock_ >= 0)
            ::close(lock_);
    }
    StagingDir(const StagingDir&) = delete;
    StagingDir& operator=(const StagingDir&) = delete;
    const fs::path& path() const { return path_; }

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

// A layer's verified blob, placed at `staged` without copying its bytes where possible (two
// layers may share one blob, so the blob itself stays where it is until the staging layout goes).
void place_blob(const fs::path& blob, const fs::path& staged, bool durable) {
    std::error_code ec;
    fs::create_hard_link(blob, staged, ec);
    if (!ec)
        return;
    fs::copy_file(blob, staged, ec);
    if (ec)
        fail(Errc::io, "cannot write " + staged.string() + ": " + ec.message());
    if (durable) {
        int fd = ::open(staged.c_str(), O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            ::fdatasync(fd);
            ::close(fd);
        }
    }
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

    StagingDir staging(out);
    auto staged_path = [&](const Descriptor& layer) {
        return staging.path() / "items" / layer.title();
    };
    for (auto& layer : layers) {
        auto staged = staged_path(layer);
        fs::create_directories(staged.parent_path());
        auto blob = staging_layout.blob_path(layer.digest);
        if (is_tar_layer(layer))
            unpack_archive(blob, staged);
        else
            place_blob(blob, staged, options.durable);
    }

    // Everything verified: move into place.
    for (auto& layer : layers) {
        auto staged = staged_path(layer);
        auto final_path = safe_join(out, layer.title(), "layer title");
        fs::create_directories(final_path.parent_path());
        bool directory = fs::is_directory(staged);
        if (options.overwrite && fs::exists(fs::symlink_status(final_path)))
            fs::remove_all(final_path);
        fs::rename(staged, final_path, ec);
        if (ec)
            fail(Errc::io,
                 "cannot move " + layer.title() + " into " + out.string() + ": " + ec.message());
        result.items.push_back({layer, final_path, directory});
    }
    out_guard.armed = false;
    co_return result;
}

} // namespace floe::artifact
