// Names that come from a registry are untrusted. A layer title or a tar entry must stay inside
// the output directory: no absolute path, no "..", no empty or "." component, no NUL, and no
// component that is a symlink leading elsewhere.
#pragma once

#include <filesystem>
#include <string_view>

namespace floe::artifact {

// C0 controls and DEL: terminal escapes, carriage returns, bells.
bool has_control_characters(std::string_view name);

// Throws Error(unsafe_path) with the reason. `what` says where the name came from.
void check_relative_name(std::string_view name, std::string_view what);

// `name` joined to `root` after check_relative_name, refusing a path whose existing parent
// directories pass through a symlink out of root.
std::filesystem::path safe_join(const std::filesystem::path& root, std::string_view name,
                                std::string_view what);

} // namespace floe::artifact
