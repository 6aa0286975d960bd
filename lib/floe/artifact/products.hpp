// Bulk pushes (push --products): finding the data products under a directory and naming each
// one's destination from its compiled_artifacts.json.
#pragma once

#include "floe/artifact/compiled_artifacts.hpp"
#include "floe/core/reference.hpp"

#include <filesystem>
#include <vector>

namespace floe::artifact {

// Directories holding target/compiled_artifacts.json: `root` itself, or its subdirectories,
// sorted. Throws Errc::invalid_artifact when there are none.
std::vector<std::filesystem::path> find_products(const std::filesystem::path& root);

// <prefix>/<product_name>:<product_version> ('+' of semver build metadata becomes '_').
// Throws Errc::invalid_artifact for a name or version that cannot be a repository or tag.
Reference product_reference(const Reference& prefix, const ProductInfo& product,
                            const std::filesystem::path& source);

} // namespace floe::artifact
