// A repository in a registry, as a Target: the distribution-spec endpoints for blobs, manifests,
// uploads, tags, referrers, deletes and mounts.
#pragma once

#include "floe/registry/registry.hpp"
#include "floe/target/target.hpp"

namespace floe::registry {

class RemoteTarget final : public Target,
                           public TagLister,
                           public ReferrerLister,
                           public Deleter,
                           public Mounter,
                           public RangeFetcher {
  public:
    // `push` asks for pull+push scopes up front, so one token serves the whole copy.
    // `chunk_size`: upload in PATCH chunks of this size (0: one request per blob).
    RemoteTarget(std::shared_ptr<Registry> registry, std::string repository, bool push,
                 std::uint64_t chunk_size = 0);

    std::string describe() const override;
    Task<bool> exists(const Descriptor& desc) override;
    Task<std::unique_ptr<BlobReader>> fetch(const Descriptor& desc, std::uint64_t offset) override;
    Task<std::unique_ptr<BlobReader>> fetch_range(const Descriptor& desc, std::uint64_t offset,
                                                  std::uint64_t length) override;
    Task<Descriptor> push(Descriptor desc, BlobSource& source) override;
    Task<Descriptor> resolve(std::string_view reference) override;
    Task<std::string> read_manifest(const Descriptor& desc) override;
    Task<void> push_manifest(const Descriptor& desc, std::string_view bytes,
                             std::string_view tag) override;
    Task<void> tag(const Descriptor& desc, std::string_view tag) override;
    Task<TagPage> list_tags(const std::optional<std::string>& cursor,
                            std::size_t page_size) override;
    Task<std::vector<Descriptor>> referrers(const Descriptor& subject,
                                            std::string_view artifact_type) override;
    Task<void> remove(const Descriptor& desc) override;
    Task<bool> mount(const Descriptor& desc, std::string_view from_repository) override;

    // GET of a blob's bytes [offset, end) under `budget` (shared with the body's resumes).
    // Used by the resuming body reader.
    Task<http::Response> request_blob(const Descriptor& desc, std::uint64_t offset,
                                      std::uint64_t end, http::RetryBudget& budget);
    Registry& registry() { return *registry_; }

  private:
    std::string path(std::string_view kind, std::string_view ref) const;
    // A call to the API path `target`, for this repository's scopes.
    http::Call api_call(std::string method, std::string target,
                        std::uint64_t max_body = 1024 * 1024, bool accept_manifests = false) const;
    Task<std::string> get_manifest(std::string_view reference, std::string what);
    // A Location from the registry, resolved and checked (no downgrade to plain http).
    http::Url checked_location(const http::Response& resp) const;

    std::shared_ptr<Registry> registry_;
    std::string repository_;
    std::vector<std::string> scopes_;
    std::uint64_t chunk_size_;
    std::optional<std::pair<Digest, std::string>> last_manifest_; // verified, by digest
};

} // namespace floe::registry
