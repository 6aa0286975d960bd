// Remembers the digest of files that were hashed before, keyed by what stat says about them
// (device, inode, size, mtime and ctime to the nanosecond). A re-push of unchanged files then
// reads nothing: it only asks the registry whether it has the blobs.
//
// A stale entry cannot corrupt anything: a registry checks every upload against its digest, and
// any write to a file changes its ctime, which no user can set back.
#pragma once

#include "floe/core/digest.hpp"

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
    // Appends an entry; failures to write are ignored (the cache is only an optimisation).
    void remember(const std::filesystem::path& file, const Digest& digest);

  private:
    struct Entry {
        long long size, mtime_ns, ctime_ns;
        Digest digest;
    };
    std::filesystem::path path_;
    std::map<std::pair<unsigned long long, unsigned long long>, Entry> entries_;
};

} // namespace floe::artifact
