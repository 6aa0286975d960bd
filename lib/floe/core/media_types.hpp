// Media types floe reads and writes (OCI image spec v1.1, Docker v2, and floe's own).
#pragma once

#include <string_view>

namespace floe::media_type {

inline constexpr std::string_view oci_manifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view oci_index = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view docker_manifest =
    "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view docker_manifest_list =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view empty_json = "application/vnd.oci.empty.v1+json";
inline constexpr std::string_view oci_layer_tar = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view oci_layer_tar_gzip =
    "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view oci_layer_tar_zstd =
    "application/vnd.oci.image.layer.v1.tar+zstd";

// floe's artifact types and layer types.
inline constexpr std::string_view floe_compiled_artifacts =
    "application/vnd.floe.compiled-artifacts.v1+json";
inline constexpr std::string_view floe_bundle = "application/vnd.floe.bundle.v1";
inline constexpr std::string_view floe_file = "application/vnd.floe.file.v1";

// What a registry is asked for when fetching a manifest.
inline constexpr std::string_view manifest_accept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

inline bool is_manifest(std::string_view mt) {
    return mt == oci_manifest || mt == docker_manifest;
}
inline bool is_index(std::string_view mt) {
    return mt == oci_index || mt == docker_manifest_list;
}
inline bool is_manifest_or_index(std::string_view mt) {
    return is_manifest(mt) || is_index(mt);
}

} // namespace floe::media_type

namespace floe::annotation {
inline constexpr std::string_view title = "org.opencontainers.image.title";
inline constexpr std::string_view created = "org.opencontainers.image.created";
inline constexpr std::string_view ref_name = "org.opencontainers.image.ref.name";
inline constexpr std::string_view product_name = "io.floe.product.name";
inline constexpr std::string_view product_version = "io.floe.product.version";
inline constexpr std::string_view artifacts_version = "io.floe.artifacts.version";
// Set on a tar layer that pull unpacks into a directory named by its title.
inline constexpr std::string_view unpack = "io.floe.unpack";
} // namespace floe::annotation
