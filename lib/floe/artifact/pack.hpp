// Files, directories and a compiled data product become an OCI artifact: an image manifest v1.1
// with the empty config, one layer per file (titled), one tar layer per directory. The result is
// a read-only Target (it can be fetched from, never written), so pushing it anywhere is the copy
// engine's job.
#pragma once

#include "floe/artifact/compiled_artifacts.hpp"
#include "floe/artifact/digest_cache.hpp"
#include "floe/artifact/tar.hpp"
#include "floe/target/target.hpp"

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace floe::artifact {

struct PackOptions {
    Annotations annotations;                     // the user's own, added to the manifest
    std::string artifact_type;                   // overrides the detected type
    std::string created;                         // RFC 3339; default: SOURCE_DATE_EPOCH, else now
    Compression compression = Compression::gzip; // for directory layers
    DigestCache* cache = nullptr;                // digests of files hashed before
    // Files larger than this whose digest is not cached are not hashed here: the push hashes
    // them while sending (one read). 0: hash everything here.
    std::uint64_t defer_hashing_over = 0;
};

class PackedArtifact final : public ReadOnlyTarget {
  public:
    ~PackedArtifact() override; // removes the directory tars it made

    // Layers whose digest is still unknown (deferred hashing); the manifest is built once
    // they are all set.
    struct Pending {
        std::size_t layer;
        std::filesystem::path path;
        std::chrono::system_clock::time_point packed_at; // hashing begins after this
    };
    const std::vector<Pending>& pending() const { return pending_; }
    const Descriptor& layer(std::size_t i) const { return manifest_.layers.at(i); }
    void set_digest(std::size_t layer, const Digest& digest);
    void hash_pending(); // the fallback: hash them here
    void finalize();     // builds the manifest; every digest must be known

    const Descriptor& manifest_descriptor() const { return manifest_desc_; }
    // The compiled data product's name and versions, when the artifact holds one.
    const std::optional<ProductInfo>& product() const { return product_; }
    const std::string& manifest_bytes() const { return manifest_bytes_; }
    const Manifest& manifest() const { return manifest_; }

    std::string describe() const override { return "local files"; }
    Task<std::unique_ptr<BlobReader>> fetch(const Descriptor& desc, std::uint64_t offset) override;
    Task<Descriptor> resolve(std::string_view reference) override;
    Task<std::string> read_manifest(const Descriptor& desc) override;

  private:
    friend std::unique_ptr<PackedArtifact> pack(const std::vector<std::filesystem::path>&,
                                                const PackOptions&);
    PackedArtifact() = default;

    Manifest manifest_;
    Descriptor manifest_desc_;
    std::string manifest_bytes_;
    std::map<Digest, std::filesystem::path> files_; // blob digest -> file holding it
    std::filesystem::path scratch_;                 // tars of directories live here
    std::vector<Pending> pending_;
    std::optional<ProductInfo> product_;
    DigestCache* cache_ = nullptr;
};

// Hashes each file once (OpenSSL, 1 MiB reads). Throws Error(invalid_artifact) for a missing
// path, two inputs with the same name, or an invalid compiled_artifacts.json.
std::unique_ptr<PackedArtifact> pack(const std::vector<std::filesystem::path>& paths,
                                     const PackOptions& options);

// Hash of a file as a descriptor of the given media type.
Descriptor describe_file(const std::filesystem::path& path, std::string media_type);

// "2026-11-29T16:00:00Z" for now, or for SOURCE_DATE_EPOCH when set (reproducible builds).
std::string created_timestamp();

} // namespace floe::artifact
