// A local OCI image layout directory (image-spec image-layout.md) as a Target: blobs under
// blobs/<alg>/<hex>, tags as index.json entries annotated org.opencontainers.image.ref.name.
// Blobs arrive through a temporary file and a rename after verification; index.json changes
// under an flock so concurrent floe processes do not lose each other's tags.
#pragma once

#include "floe/target/target.hpp"

#include <filesystem>

namespace floe::layout {

class LayoutTarget final : public Target, public StreamingPush {
  public:
    // The directory is created (with oci-layout and an empty index.json) on the first write.
    // `durable`: fdatasync each blob before it gets its final name.
    explicit LayoutTarget(std::filesystem::path root, bool durable = false);

    std::string describe() const override;
    Task<bool> exists(const Descriptor& desc) override;
    Task<std::unique_ptr<BlobReader>> fetch(const Descriptor& desc, std::uint64_t offset) override;
    Task<void> push(const Descriptor& desc, BlobReader& source) override;
    Task<Descriptor> resolve(std::string_view reference) override;
    Task<std::string> read_manifest(const Descriptor& desc) override;
    Task<void> push_manifest(const Descriptor& desc, std::string_view bytes,
                             std::string_view tag) override;
    Task<void> tag(const Descriptor& desc, std::string_view tag) override;
    Task<std::vector<std::string>> tags() override;
    Task<Descriptor> push_unknown(Descriptor desc, ResumablePush::Open open) override;

    std::filesystem::path blob_path(const Digest& d) const;

  private:
    void ensure_layout();
    Index read_index() const;

    std::filesystem::path root_;
    bool durable_;
};

} // namespace floe::layout
