// Pulling an artifact into a directory: every layer is downloaded into a staging directory inside
// the output directory and verified, tar layers are unpacked there, and only when all of it
// succeeded is each item renamed into place. On any failure the output directory is left as it
// was.
#pragma once

#include "floe/target/target.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace floe::artifact {

struct ExtractOptions {
    bool overwrite = false; // replace files and directories that already exist
};

struct ExtractedItem {
    Descriptor layer;
    std::filesystem::path path;
    bool directory = false;
};

struct ExtractResult {
    Descriptor manifest;
    std::vector<ExtractedItem> items;
    std::vector<Descriptor> skipped; // layers without a title: nothing to name them by
};

Task<ExtractResult> extract_to_directory(Target& src, std::string_view reference,
                                         const std::filesystem::path& out,
                                         const ExtractOptions& options = {});

} // namespace floe::artifact
