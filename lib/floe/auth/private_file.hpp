// Small local files that hold or name secrets (docker's config.json, the ECR token cache, AWS
// profiles, token files): read with a size cap and without hanging on a FIFO put in their
// place; written so that no reader sees half a file and no other user can read it, not even
// for a moment.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace floe::auth {

// The file's text; nullopt when it does not exist. Anything else that stops it being read (a
// permission, a directory or a FIFO in its place, more than `max_size` bytes) throws an error
// naming it as `what` ("the credential file", "the ECR token cache").
std::optional<std::string> read_local_file(const std::filesystem::path& path, std::string_view what,
                                           std::size_t max_size = 4 * 1024 * 1024);

// Replaces the file atomically with mode 0600 whatever the umask (the temporary file is created
// 0600 and flushed before the rename); the directories it creates are 0700. A symlink in the
// file's place is replaced by the file, unless `through_symlink` (docker's config.json, which
// users link to a dotfiles repository): then the link's target is replaced.
void write_private_file(const std::filesystem::path& path, std::string_view text,
                        bool through_symlink = false);

} // namespace floe::auth
