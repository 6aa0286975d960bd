// A local OCI image layout directory (image-spec image-layout.md) as a Target: blobs under
// blobs/<alg>/<hex>, tags as index.json entries annotated org.opencontainers.image.ref.name.
// Blobs arrive in ingest/ (a partial file per digest, kept when a transfer is cut so that the
// next run continues from it) and are renamed into place after verification; index.json
// changes under an flock so concurrent floe processes do not lose each other's tags.
#pragma once

#include "floe/target/target.hpp"

#include <filesystem>

namespace floe::layout {

class LayoutTarget final : public Target, public TagLister, public Deleter {
  public:
    // The directory is created (with oci-layout and an empty index.json) on the first write.
    // `durable`: fdatasync each blob before it gets its final name.
    explicit LayoutTarget(std::filesystem::path root, bool durable = false);

    std::string describe() const override;
    Task<bool> exists(const Descriptor& desc) override;
    Task<std::unique_ptr<BlobReader>> fetch(const Descriptor& desc, std::uint64_t offset) override;
    Task<Descriptor> push(Descriptor desc, BlobSource& source) override;
    Task<Descriptor> resolve(std::string_view reference) override;
    Task<std::string> read_manifest(const Descriptor& desc) override;
    Task<void> push_manifest(const Descriptor& desc, std::string_view bytes,
                             std::string_view tag) override;
    Task<void> tag(const Descriptor& desc, std::string_view tag) override;
    Task<TagPage> list_tags(const std::optional<std::string>& cursor,
                            std::size_t page_size) override;
    Task<void> remove(const Descriptor& desc) override;

    std::filesystem::path blob_path(const Digest& d) const;
    const std::filesystem::path& root() const { return root_; }
    // Where a partial blob waits for the rest of its bytes.
    std::filesystem::path ingest_path(const Digest& d) const;

  private:
    void ensure_layout();
    Index read_index() const;
    Task<Descriptor> push_unhashed(Descriptor desc, BlobSource& source);

    std::filesystem::path root_;
    bool durable_;
};

// Blobs at least this large are fetched as concurrent ranges when the source offers them.
inline constexpr std::uint64_t range_threshold = 64 * 1024 * 1024;

} // namespace floe::layout
