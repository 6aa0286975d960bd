// A repository in a registry, as a Target: the distribution-spec endpoints for blobs, manifests,
// uploads and tags.
#pragma once

#include "floe/registry/registry.hpp"
#include "floe/target/target.hpp"

namespace floe::registry {

struct UploadOptions {
    std::uint64_t chunk_size = 0;        // 0: one PUT per blob; else PATCH chunks of this size
    std::vector<std::string> mount_from; // repositories of the same registry to link blobs from
    int max_resumes = 5;                 // per blob, after a lost connection
};

class RemoteTarget final : public Target,
                           public ResumablePush,
                           public StreamingPush,
                           public RangedFetch {
  public:
    // `push` asks for pull+push scopes up front, so one token serves the whole copy.
    RemoteTarget(std::shared_ptr<Registry> registry, std::string repository, bool push,
                 UploadOptions upload = {});

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
    Task<Outcome> push_from(const Descriptor& desc, Open open) override;
    Task<Descriptor> push_unknown(Descriptor desc, Open open) override;
    Task<std::unique_ptr<BlobReader>> fetch_range(const Descriptor& desc, std::uint64_t offset,
                                                  std::uint64_t length) override;

  private:
    struct Session {
        http::Url location;
        std::uint64_t chunk_size = 0;
    };
    // POST (with ?mount= first when asked): nullopt when the registry mounted the blob.
    Task<std::optional<Session>> start_upload(const Descriptor& desc);
    Task<std::optional<Session>> send_patches(const Descriptor& desc, Session session,
                                              const Open& open, Hasher* running);
    Task<void> finish_upload(const Descriptor& desc, const http::Url& location, BlobReader* body);
    Task<std::optional<std::uint64_t>> upload_status(const http::Url& location);

    std::string path(std::string_view kind, std::string_view ref) const;

    std::shared_ptr<Registry> registry_;
    std::string repository_;
    std::vector<std::string> scopes_;
    UploadOptions upload_;
};

} // namespace floe::registry
