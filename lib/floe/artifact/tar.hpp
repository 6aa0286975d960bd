// A directory travels as one tar layer (libarchive). Packing is deterministic (sorted entries,
// no owners, no gzip timestamp) so the same tree gives the same digest; unpacking refuses any
// entry that would land outside the destination.
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

// Extracts `archive` (tar, optionally gzip/zstd) into `dest` (created). Throws
// Error(unsafe_path) for absolute names, "..", links leading outside, devices and fifos.
void unpack_archive(const std::filesystem::path& archive, const std::filesystem::path& dest);

} // namespace floe::artifact
