// Pulling an artifact into a directory: the copy engine copies it from the source into a staging
// OCI layout inside the output directory (.floe-partial/, so that every rename stays on one file
// system), then each titled layer is placed (linked, or unpacked for tar layers) into a staging
// directory, and only when all of it succeeded is each item renamed into place. On failure the
// output directory is left as it was, except that after a network failure or an interruption the
// staging layout stays (hidden), so that the next run continues where this one stopped.
#pragma once

#include "floe/target/target.hpp"
#include "floe/transfer/copy.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace floe::artifact {

struct ExtractOptions {
    bool overwrite = false; // replace files and directories that already exist
    bool durable = false;   // fdatasync files before they get their final names
    // Cap on what one tar layer unpacks to; 0: 100 times its size, at least 256 MiB, at most
    // 64 GiB.
    std::uint64_t max_unpacked_size = 0;
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

Task<ExtractResult> pull_to_directory(ReadOnlyTarget& src, std::string_view reference,
                                      const std::filesystem::path& out, transfer::Engine& engine,
                                      const ExtractOptions& options = {});

// The staging layout of pulls into `out` (partial downloads live in its ingest/).
std::filesystem::path partial_directory(const std::filesystem::path& out);

} // namespace floe::artifact
