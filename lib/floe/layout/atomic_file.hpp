// Writing files so that nothing half-written ever carries its final name: write to a temporary
// name beside the destination, flush, then rename. Used by the layout store and by pull.
#pragma once

#include "floe/core/digest.hpp"
#include "floe/target/target.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace floe::layout {

class TempFile {
  public:
    // Creates a unique hidden file in `dir` (e.g. ".floe-tmp-<random>").
    explicit TempFile(const std::filesystem::path& dir, std::string_view prefix = ".floe-tmp-");
    ~TempFile(); // removes the file unless committed
    TempFile(const TempFile&) = delete;
    TempFile& operator=(const TempFile&) = delete;

    void write(std::span<const std::byte> bytes);
    void write(std::string_view bytes);
    // Renames to `final_path`, replacing what was there; `durable` flushes to disk first, so a
    // power loss cannot leave a final name with missing content.
    void commit(const std::filesystem::path& final_path, bool durable = false);
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
    int fd_ = -1;
    bool committed_ = false;
};

// Streams `source` into a temporary file in `dir`, verifying exact size and digest against
// `desc`, and returns it uncommitted (the caller renames it into place). Throws
// verification_failed on a mismatch, and the temporary file is gone.
Task<std::unique_ptr<TempFile>> receive_verified(BlobReader& source, const Descriptor& desc,
                                                 const std::filesystem::path& dir,
                                                 std::string_view where);

// A download that survives the process: bytes accumulate in `path` (a hidden name, never the
// final one) under an exclusive flock, and a later run continues from its size.
class PartialFile {
  public:
    // Opens or creates the file and locks it; Errc::conflict when another process holds it.
    explicit PartialFile(std::filesystem::path path);
    ~PartialFile(); // closes, keeping the bytes for a later run unless committed or discarded
    PartialFile(const PartialFile&) = delete;
    PartialFile& operator=(const PartialFile&) = delete;

    std::uint64_t size() const { return size_; }
    void truncate();             // start over
    void rehash(Hasher& hasher); // feeds the bytes already there to `hasher`
    void write(std::span<const std::byte> bytes);
    void commit(const std::filesystem::path& final_path, bool durable);
    void discard();
    // Replaces this file's content with the file at `other` (renamed over it).
    void adopt(const std::filesystem::path& other);
    const std::filesystem::path& path() const { return path_; }

  private:
    std::filesystem::path path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
};

// Writes small content atomically (index.json, oci-layout).
void write_file_atomic(const std::filesystem::path& path, std::string_view bytes);

} // namespace floe::layout
