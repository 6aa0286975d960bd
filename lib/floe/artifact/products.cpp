#include "floe/artifact/products.hpp"

#include "floe/core/error.hpp"

#include <algorithm>

namespace floe::artifact {

namespace fs = std::filesystem;

std::vector<fs::path> find_products(const fs::path& root) {
    auto marker = fs::path("target") / std::string(compiled_artifacts_name);
    if (fs::is_regular_file(root / marker))
        return {root};
    std::vector<fs::path> found;
    std::error_code ec;
    for (auto& e : fs::directory_iterator(root, ec))
        if (e.is_directory() && fs::is_regular_file(e.path() / marker))
            found.push_back(e.path());
    if (ec)
        fail(Errc::invalid_artifact, "cannot read " + root.string() + ": " + ec.message());
    std::sort(found.begin(), found.end());
    if (found.empty())
        fail(Errc::invalid_artifact, "no data products under " + root.string() +
                                         " (looked for */target/compiled_artifacts.json)");
    return found;
}

Reference product_reference(const Reference& prefix, const ProductInfo& product,
                            const fs::path& source) {
    Reference ref = prefix;
    ref.repository = prefix.repository + "/" + product.name;
    ref.tag = product.version;
    std::replace(ref.tag.begin(), ref.tag.end(), '+', '_'); // semver build metadata
    if (!is_valid_repository(ref.repository))
        fail(Errc::invalid_artifact, source.string() + ": product_name '" + product.name +
                                         "' is not a valid repository name (lowercase a-z, "
                                         "0-9, '.', '_', '-')");
    if (!is_valid_tag(ref.tag))
        fail(Errc::invalid_artifact,
             source.string() + ": product_version '" + product.version + "' is not a valid tag");
    return ref;
}

} // namespace floe::artifact
