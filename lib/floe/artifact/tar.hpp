// A directory travels as one tar layer (libarchive). Packing is deterministic (sorted entries,
// no owners, no gzip timestamp) so the same tree gives the same digest; unpacking writes through
// a SafeTree (never following a link), refuses any entry that would land outside it, and stops
// at a cap on unpacked bytes and entries (decompression bombs).
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>

namespace floe::artifact {

enum class Compression { gzip, zstd };

// Writes `dir`'s contents (relative names, no leading directory) to `out`. Entries' mtimes are
// clamped to `mtime_clamp` when given (SOURCE_DATE_EPOCH). Throws Error(invalid_artifact) for
// special files and symlinks that point outside `dir`.
void pack_directory(const std::filesystem::path& dir, const std::filesystem::path& out,
                    Compression compression, std::optional<std::int64_t> mtime_clamp);

struct UnpackLimits {
    std::uint64_t max_bytes = 0;   // content bytes written, over all entries
    std::uint64_t max_entries = 0; // files, directories and links
};

// The default caps for a layer of `compressed` bytes: 100 times its size but at least 256 MiB,
// and never more than 64 GiB (or exactly `max_unpacked` when the user set one); one million
// entries.
UnpackLimits unpack_limits(std::uint64_t compressed, std::uint64_t max_unpacked = 0);

class SafeTree;

// Extracts `archive` (tar, optionally gzip/zstd) into `tree` under the directory `prefix`.
// Throws Error(unsafe_path) for absolute names, "..", links leading outside, hard links to
// anything but a file extracted before, devices and fifos; Error(verification_failed) for a
// corrupt archive or one over `limits`.
void unpack_archive(const std::filesystem::path& archive, const SafeTree& tree,
                    std::string_view prefix, const UnpackLimits& limits);

} // namespace floe::artifact
