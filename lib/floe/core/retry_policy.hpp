// How often and how patiently to try again: a value the registry configuration fills, shared by
// every retry in floe (http/retry.hpp holds the classifier and the per-transfer budget). Pure.
#pragma once

#include <chrono>
#include <optional>
#include <string_view>

namespace floe {

struct RetryPolicy {
    int max_attempts = 4; // per request; per blob, attempts in a row without progress
    std::chrono::milliseconds initial_delay{200};
    double multiplier = 2.0;
    std::chrono::milliseconds max_delay{30'000};
    bool jitter = true; // up to +50% so that clients do not retry in lockstep
    std::chrono::milliseconds retry_after_cap{60'000}; // the longest Retry-After honoured

    // Attempts that make progress earn another try, up to this many in all.
    int max_total_attempts() const { return 4 * max_attempts; }

    // The wait before attempt `attempt` (2 = the first retry): the server's Retry-After
    // (seconds or an HTTP date, capped at retry_after_cap) or exponential backoff.
    std::chrono::milliseconds delay(int attempt, std::optional<std::string_view> retry_after) const;

    // The longest time a request can spend waiting between attempts (for documentation and
    // for choosing timeouts): the sum of the backoff delays, jitter included, Retry-After aside.
    std::chrono::milliseconds worst_case_backoff() const;
};

} // namespace floe
