// What a registry's answer means, as pure functions: the status and the distribution-spec error
// body become an Errc and a one-line message; the retry classifier decides what to try again.
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

// Whether an idempotent request that got this status may be sent again.
bool is_retryable_status(int status);

// Backoff before attempt `attempt` (1-based): exponential with jitter, or the server's
// Retry-After (seconds or an HTTP date), capped at `cap`.
std::chrono::milliseconds retry_delay(int attempt, std::optional<std::string_view> retry_after,
                                      std::chrono::milliseconds cap = std::chrono::seconds(30));

} // namespace floe::registry
