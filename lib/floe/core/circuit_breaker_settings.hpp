// When a registry host's circuit breaker opens and how it recovers: a value the registry
// configuration fills (`resilience.circuit_breaker`); http/circuit_breaker.hpp is the breaker.
// Plain values, no Asio: part of the installed API, like core/retry_policy.hpp.
#pragma once

#include <chrono>

namespace floe {

struct CircuitBreakerSettings {
    bool enabled = true;
    int failure_threshold = 5;                          // failures in a row that open the circuit
    std::chrono::milliseconds recovery_timeout{60'000}; // open this long before a trial
    int half_open_requests = 1; // trial requests let through once the timeout has passed
};

} // namespace floe
