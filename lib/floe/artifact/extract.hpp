// Pulling an artifact into a directory. Layers download (concurrently) into hidden partial files
// inside the output directory, are verified, tar layers are unpacked into a staging directory,
// and only when all of it succeeded is each item renamed into place. On failure the output
// directory is left as it was, except that partial downloads cut by a network failure stay
// (hidden, in .floe-partial/) so that the next run continues where this one stopped.
#pragma once

#include "floe/target/target.hpp"
#include "floe/transfer/session.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace floe::artifact {

struct ExtractOptions {
    bool overwrite = false; // replace files and directories that already exist
    bool durable = false;   // fdatasync files before they get their final names
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
                                         transfer::Session& session,
                                         const ExtractOptions& options = {});

// Where partial downloads for `out` live.
std::filesystem::path partial_directory(const std::filesystem::path& out);

} // namespace floe::artifact
