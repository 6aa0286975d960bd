// Descriptors, manifests and indexes: what the OCI image spec calls them, as plain values.
#pragma once

#include "floe/core/digest.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace floe {

using Annotations = std::map<std::string, std::string>; // ordered: manifests serialise stably

struct Descriptor {
    std::string media_type;
    Digest digest;
    std::uint64_t size = 0;
    std::string artifact_type; // optional
    Annotations annotations;

    std::string annotation(std::string_view key) const {
        auto it = annotations.find(std::string(key));
        return it == annotations.end() ? std::string() : it->second;
    }
    std::string title() const;
    friend bool operator==(const Descriptor&, const Descriptor&) = default;
};

// An image manifest (OCI or Docker v2 schema 2).
struct Manifest {
    std::string media_type;
    std::string artifact_type;
    Descriptor config;
    std::vector<Descriptor> layers;
    std::optional<Descriptor> subject;
    Annotations annotations;
};

// An image index (OCI index or Docker manifest list).
struct Index {
    std::string media_type;
    std::string artifact_type;
    std::vector<Descriptor> manifests;
    std::optional<Descriptor> subject;
    Annotations annotations;
};

// The empty config of an artifact: "{}", application/vnd.oci.empty.v1+json.
Descriptor empty_config_descriptor();
inline constexpr std::string_view empty_config_bytes = "{}";

// Parsers read the exact bytes that were hashed (never re-serialised) and throw
// Error(protocol) with the field at fault. Inputs over 4 MiB are refused.
Manifest parse_manifest(std::string_view bytes);
Index parse_index(std::string_view bytes);
// The mediaType field of a manifest or index, "" when absent.
std::string sniff_media_type(std::string_view bytes);

// Deterministic serialisation: fixed field order, annotations sorted, no insignificant space.
std::string serialize(const Manifest& m);
std::string serialize(const Index& i);

inline constexpr std::size_t max_manifest_bytes = 4 * 1024 * 1024;

} // namespace floe
