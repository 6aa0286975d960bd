// Remembers the digest of files that were hashed before, keyed by what stat says about them
// (device, inode, size, mtime and ctime to the nanosecond). A re-push of unchanged files then
// reads nothing: it only asks the registry whether it has the blobs.
//
// Any write to a file changes its ctime, which no user can set back. But timestamps move in
// coarse ticks (a few milliseconds), so a file written in the same tick as it was hashed could
// change without its stat changing ("racy git"): a file is remembered only if its ctime is
// older than the moment its hashing began, by a margin of one second.
#pragma once

#include "floe/core/digest.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <utility>

namespace floe::artifact {

class DigestCache {
  public:
    // $FLOE_CACHE_DIR, else $XDG_CACHE_HOME/floe, else ~/.cache/floe; plus "/file-digests".
    static std::filesystem::path default_path();

    // Loads the cache (a missing or damaged file is an empty cache).
    explicit DigestCache(std::filesystem::path path);

    std::optional<Digest> lookup(const std::filesystem::path& file) const;
    // Appends an entry for a file hashed from `hashing_began` on (see above); failures to write
    // are ignored (the cache is only an optimisation).
    void remember(const std::filesystem::path& file, const Digest& digest,
                  std::chrono::system_clock::time_point hashing_began);

  private:
    struct Entry {
        long long size, mtime_ns, ctime_ns;
        Digest digest;
    };
    std::filesystem::path path_;
    std::map<std::pair<unsigned long long, unsigned long long>, Entry> entries_;
};

} // namespace floe::artifact
