// The compiled data product, target/compiled_artifacts.json: checked before it is pushed, so a
// broken build never becomes a published version.
#pragma once

#include <string>
#include <string_view>

namespace floe::artifact {

struct ProductInfo {
    std::string name;              // metadata.product_name
    std::string version;           // metadata.product_version
    std::string artifacts_version; // version (of the compiled_artifacts format)
};

// Throws Error(invalid_artifact) naming the file and the missing or mistyped field.
ProductInfo validate_compiled_artifacts(std::string_view json, std::string_view path);

inline constexpr std::string_view compiled_artifacts_name = "compiled_artifacts.json";

} // namespace floe::artifact
