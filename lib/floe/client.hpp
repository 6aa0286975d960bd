// floe's public C++ API: push, pull, inspect and copy artifacts between registries and local
// OCI layouts. Calls block until done and throw floe::Error; no Asio or Beast types appear here.
//
//   floe::Client client;                                   // credentials from FLOE_REGISTRY_*
//   auto pushed = client.push(floe::Reference::parse("ocidir://./store:1.0.0"),
//                             {.paths = {"target/compiled_artifacts.json"}});
//   client.pull(floe::Reference::parse("ocidir://./store:1.0.0"), "./out");
#pragma once

#include "floe/auth/credentials.hpp"
#include "floe/core/descriptor.hpp"
#include "floe/core/error.hpp"
#include "floe/core/progress.hpp"
#include "floe/core/reference.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace floe {

struct ClientOptions {
    std::string ca_file;                   // extra trusted CA certificates (PEM)
    bool insecure_skip_tls_verify = false; // tests only: TLS without certificate checks
    bool plain_http = false;               // http:// for non-loopback registries too
    int concurrency = 4;                   // blobs in flight
    std::chrono::seconds timeout{60};      // connect, and longest wait for any byte
    std::uint64_t limit_rate = 0;          // bytes per second over all connections; 0: no limit
    bool durable = false;                  // fdatasync files before they get their final names
    std::uint64_t chunk_size = 0;          // upload in PATCH chunks of this size; 0: one PUT
    std::vector<std::string> mount_from;   // repositories (same registry) to link blobs from
    int range_parts = 1;                   // fetch blobs >= 64 MiB as this many ranges at once
    ProgressCallback progress;             // per-blob and per-operation events
    // Credentials per registry; default: FLOE_REGISTRY_USERNAME/PASSWORD/TOKEN.
    std::shared_ptr<const CredentialStore> credentials;
    // One line per HTTP request, credentials and signed URLs redacted.
    std::function<void(std::string_view)> log;
};

enum class LayerCompression { gzip, zstd };

struct PushOptions {
    std::vector<std::filesystem::path> paths{"target/compiled_artifacts.json"};
    Annotations annotations;   // added to the manifest
    std::string artifact_type; // default: detected (compiled artifacts) or floe's bundle type
    LayerCompression compression = LayerCompression::gzip; // for directories
    // Remember file digests (keyed by inode, size, mtime, ctime) so unchanged files are not
    // read again; large new files are hashed while they are sent.
    bool digest_cache = true;
};

struct PushResult {
    Descriptor manifest;
    std::string tag;
    std::uint64_t blobs_pushed = 0;
    std::uint64_t blobs_skipped = 0; // already in the destination
    std::uint64_t bytes_pushed = 0;
};

struct ProductPushResult {
    Reference ref; // <prefix>/<product_name>:<product_version>
    PushResult result;
};

struct PullOptions {
    bool overwrite = false; // replace existing files in the output directory
};

struct PulledItem {
    std::string title;
    std::filesystem::path path;
    Descriptor layer;
    bool directory = false;
};

struct PullResult {
    Descriptor manifest;
    std::vector<PulledItem> items;
    std::vector<Descriptor> skipped_layers; // untitled layers
};

struct InspectResult {
    Descriptor descriptor;      // what the reference resolved to
    std::string manifest_bytes; // exactly as stored
    std::optional<Manifest> manifest;
    std::optional<Index> index;
};

struct CopyResult {
    Descriptor manifest;
    std::uint64_t blobs_copied = 0;
    std::uint64_t blobs_skipped = 0;
    std::uint64_t bytes_copied = 0;
};

class Client {
  public:
    explicit Client(ClientOptions options = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Packs files and directories into an artifact and pushes it, blobs first, manifest last.
    // A release tag (semver) that already names different content is refused (Errc::conflict).
    PushResult push(const Reference& ref, const PushOptions& options = {});
    // Pushes every data product under `root` (each directory with a
    // target/compiled_artifacts.json, or root itself) to <prefix>/<product_name>:
    // <product_version>, all in one operation under one concurrency bound (CI bulk pushes).
    std::vector<ProductPushResult> push_products(const Reference& prefix,
                                                 const std::filesystem::path& root,
                                                 const PushOptions& options = {});
    // Downloads and verifies every layer, then moves them into `out` (nothing on failure).
    PullResult pull(const Reference& ref, const std::filesystem::path& out,
                    const PullOptions& options = {});
    InspectResult inspect(const Reference& ref);
    // Copies a manifest and everything it names; tags it with to.tag (or from's tag).
    CopyResult copy(const Reference& from, const Reference& to);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace floe
