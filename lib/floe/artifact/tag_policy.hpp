// Which tags may move. Release versions (semver: 1.2.3, v1.2.3, 1.2.3-rc.1) are immutable once
// pushed; environment labels (dev, staging, prod, latest, 1.2.3-prod, ...) move.
#pragma once

#include <string_view>

namespace floe::artifact {

bool is_semver_tag(std::string_view tag);
bool is_environment_tag(std::string_view tag);
bool is_immutable_tag(std::string_view tag);

} // namespace floe::artifact
