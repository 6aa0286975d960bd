// The copy engine: one graph walk that serves push (packed files -> registry or layout), pull
// (registry -> a staging layout), and mirroring (registry -> registry). Children before parents,
// so a tag never points at a manifest whose blobs are missing; the children of an index and a
// manifest's subject are followed concurrently; blobs the destination has are skipped, blobs are
// mounted where asked, shared blobs move once, and every blob goes through one sequence (slot,
// hooks, push) whatever its source. Sources and destinations are Targets: the engine never knows
// whether it talks to a registry, a layout or local files.
#pragma once

#include "floe/target/target.hpp"
#include "floe/transfer/session.hpp"

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace floe {
struct Flight;
}

namespace floe::transfer {

struct CopyOptions {
    // Repositories of the destination's registry to link blobs from instead of sending them.
    std::vector<std::string> mount_from;
    int max_depth = 8; // nesting of indexes (and subjects) followed
};

struct CopyStats {
    std::uint64_t blobs_copied = 0;
    std::uint64_t blobs_skipped = 0; // already there, or mounted
    std::uint64_t bytes_copied = 0;
    CopyStats& operator+=(const CopyStats& o) {
        blobs_copied += o.blobs_copied;
        blobs_skipped += o.blobs_skipped;
        bytes_copied += o.bytes_copied;
        return *this;
    }
};

// A blob whose digest is learned while it is sent (a large new file, read once).
struct UnhashedBlob {
    Descriptor desc; // media type, size and annotations; no digest yet
    std::unique_ptr<BlobSource> source;
};

class Engine {
  public:
    explicit Engine(Session& session, CopyOptions options = {});
    ~Engine();

    // Copies `root` (a manifest or index) of `src` with everything it names into `dst`, and
    // points `tag` at it there (no tag when empty). Blobs in `present` are known to be in `dst`
    // already (pushed by this operation) and are neither checked nor counted.
    Task<CopyStats> copy(ReadOnlyTarget& src, Target& dst, const Descriptor& root,
                         std::string_view tag, const std::set<Digest>& present = {});

    // Sends blobs whose digests are not known yet; returns their descriptors, digests filled
    // in, in the same order.
    Task<std::vector<Descriptor>> push_unhashed(Target& dst, std::vector<UnhashedBlob>& blobs,
                                                CopyStats& stats);

    Session& session() { return session_; }

  private:
    struct Walk;
    // The one sequence every blob goes through.
    Task<Descriptor> move_blob(Target& dst, Descriptor blob, BlobSource& source, bool known,
                               CopyStats& stats);

    Session& session_;
    CopyOptions options_;
};

} // namespace floe::transfer
