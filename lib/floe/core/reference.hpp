// References name content: "[oci://]host[:port]/repo[:tag][@digest]" in a registry, or
// "ocidir://PATH[:tag][@digest]" in a local OCI image layout directory.
#pragma once

#include "floe/core/digest.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace floe {

struct Reference {
    enum class Kind { registry, layout };

    Kind kind = Kind::registry;
    std::string registry;   // "host[:port]", Docker Hub normalised to "docker.io"
    std::string repository; // "library/alpine", "team/product"
    std::string path;       // layout directory, for Kind::layout
    std::string tag;        // may be empty
    std::optional<Digest> digest;

    // Throws Error(invalid_reference) with a one-line reason.
    static Reference parse(std::string_view text);

    bool is_layout() const noexcept { return kind == Kind::layout; }
    // The tag or digest to resolve: the digest wins when both are given; "latest" when neither.
    std::string selector() const;
    // Where the registry's HTTP API lives: Docker Hub's is registry-1.docker.io.
    std::string api_host() const;
    // A canonical text that parses back to the same reference.
    std::string str() const;
};

// Tags match [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}.
bool is_valid_tag(std::string_view tag) noexcept;
// A tag as given, with semver build metadata made legal: tags cannot hold '+', so
// "1.2.3+build.5" becomes "1.2.3_build.5" (Helm's convention for OCI charts); anything else
// comes back unchanged (and may still be invalid).
std::string legal_tag(std::string_view tag);
// Lowercase path components: [a-z0-9]+((\.|_|__|-+)[a-z0-9]+)* joined by '/'.
bool is_valid_repository(std::string_view name) noexcept;

} // namespace floe
