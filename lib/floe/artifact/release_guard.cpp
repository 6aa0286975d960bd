#include "floe/artifact/release_guard.hpp"

#include "floe/artifact/tag_policy.hpp"
#include "floe/core/error.hpp"
#include "floe/core/media_types.hpp"

namespace floe::artifact {

bool same_content(const Manifest& a, const Manifest& b) {
    auto without_created = [](Annotations an) {
        an.erase(std::string(annotation::created));
        return an;
    };
    return a.config.digest == b.config.digest && a.layers == b.layers &&
           a.artifact_type == b.artifact_type &&
           without_created(a.annotations) == without_created(b.annotations);
}

Task<std::optional<Descriptor>> existing_tag(Resolver& dst, const std::string& tag) {
    try {
        co_return co_await dst.resolve(tag);
    } catch (const Error& e) {
        if (e.errc() != Errc::not_found)
            throw;
    }
    co_return std::nullopt;
}

Task<std::optional<Descriptor>> existing_release(Resolver& dst, const std::string& tag) {
    if (!is_immutable_tag(tag))
        co_return std::nullopt;
    co_return co_await existing_tag(dst, tag);
}

Task<std::optional<Descriptor>> release_already_pushed(Target& dst, const std::string& tag,
                                                       const std::optional<Descriptor>& existing,
                                                       const Descriptor& incoming,
                                                       const Manifest* ours) {
    if (!existing || existing->digest == incoming.digest)
        co_return std::nullopt; // nothing there yet, or the very same manifest: copy as usual
    if (ours && media_type::is_manifest(existing->media_type)) {
        auto bytes = co_await dst.read_manifest(*existing);
        if (same_content(parse_manifest(bytes), *ours))
            co_return existing;
    }
    fail(Errc::conflict, "tag '" + tag + "' is a release version and already names " +
                             existing->digest.str() + " in " + dst.describe() +
                             " with different content; release tags are immutable: push a new "
                             "version, or use an environment tag such as " +
                             tag + "-dev");
}

} // namespace floe::artifact
