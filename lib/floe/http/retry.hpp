// The one retry classifier and budget, over the one policy (core/retry_policy.hpp). Every retry in
// floe (a request answered 503, a download cut mid-body, an upload step lost) draws from a
// RetryBudget built from a RetryPolicy, so the worst case is bounded and can be stated: a request
// is tried at most max_attempts times; a blob transfer gets max_attempts attempts in a row that
// move no byte, and max_total_attempts() in all. Pure code: no sockets, no clocks except the
// jitter's random numbers; doctest covers it.
#pragma once

#include "floe/core/error.hpp"
#include "floe/core/retry_policy.hpp"

#include <chrono>
#include <optional>
#include <string_view>

namespace floe::http {

using floe::RetryPolicy;

// The classifier: statuses that say "try again later".
bool is_retryable_status(int status);
// Errors worth another attempt: lost connections and timeouts, and the registry's own
// "busy"/5xx answers. Certificate failures, refusals and verification failures are final.
bool is_retryable(const Error& error);

// The attempts of one request or one blob transfer.
class RetryBudget {
  public:
    explicit RetryBudget(const RetryPolicy& policy) : policy_(policy) {}
    // Called after a failed attempt; `progressed`: the attempt moved at least one byte of the
    // transfer forward. True when another attempt is allowed.
    bool allow_another(bool progressed = false);
    // The attempt about to run, 1-based.
    int attempt() const { return total_ + 1; }
    int retries() const { return total_; }
    std::chrono::milliseconds next_delay(std::optional<std::string_view> retry_after = {}) const {
        return policy_.delay(in_a_row_ + 1, retry_after);
    }
    const RetryPolicy& policy() const { return policy_; }

  private:
    RetryPolicy policy_;
    int total_ = 0;    // failed attempts so far
    int in_a_row_ = 0; // failed attempts since the last one that made progress
};

} // namespace floe::http
