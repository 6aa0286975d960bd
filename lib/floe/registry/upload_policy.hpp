// Decisions of the upload protocol as pure functions: how big a chunk is, where the registry
// says an upload stands.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace floe::registry {

// The chunk size to use: what was asked for, raised to the registry's OCI-Chunk-Min-Length.
// 0 asked means monolithic (one PUT), unless the registry demands chunks.
std::uint64_t effective_chunk_size(std::uint64_t requested,
                                   std::optional<std::string_view> min_length_header);

// Bytes the registry holds for an upload session, from its Range header ("0-1023" means 1024;
// "bytes=0-1023" is accepted too; absent or "0-0" with nothing stored means 0). nullopt for a
// malformed header.
std::optional<std::uint64_t> bytes_received(std::optional<std::string_view> range_header);

} // namespace floe::registry
