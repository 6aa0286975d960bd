// What a registry's answer means, as pure functions: the status and the distribution-spec error
// body become an Errc and a one-line message. (What to try again: http/retry.hpp.)
#pragma once

#include "floe/core/error.hpp"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace floe::registry {

struct RegistryError {
    std::string code;    // e.g. "MANIFEST_UNKNOWN"
    std::string message; // the registry's own words
};

// {"errors":[{"code":..,"message":..,"detail":..}]}; anything else yields an empty list.
std::vector<RegistryError> parse_error_body(std::string_view body);

Errc classify_status(int status, const std::vector<RegistryError>& errors);

} // namespace floe::registry
