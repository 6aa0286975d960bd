// A repository in a registry, as a Target: the distribution-spec endpoints for blobs, manifests,
// uploads and tags.
#pragma once

#include "floe/registry/registry.hpp"
#include "floe/target/target.hpp"

namespace floe::registry {

class RemoteTarget final : public Target {
  public:
    // `push` asks for pull+push scopes up front, so one token serves the whole copy.
    RemoteTarget(std::shared_ptr<Registry> registry, std::string repository, bool push);

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

  private:
    std::string path(std::string_view kind, std::string_view ref) const;

    std::shared_ptr<Registry> registry_;
    std::string repository_;
    std::vector<std::string> scopes_;
};

} // namespace floe::registry
