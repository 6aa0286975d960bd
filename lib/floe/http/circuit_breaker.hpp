// The circuit breaker of one registry host (issue 9, "Resilience from the configuration"): after
// `failure_threshold` failures in a row it opens and requests fail at once, without a connection
// attempt, until `recovery_timeout` has passed; then it lets `half_open_requests` trial requests
// through: the first success closes it, the first failure opens it again.
//
// CircuitBreaker is the state machine, pure (the clock is injected) and safe to share between
// threads: one per registry host, shared by every request of the process. BreakerTransport is
// its layer in the transport stack (http/transport.hpp):
//
//   RetryTransport -> BreakerTransport -> AuthTransport -> HttpTransport
//
// Below the retry layer, because each attempt is a verdict on the host: four attempts answered
// 503 are four failures, and once the circuit opens, the retry layer's next attempt fails fast
// and is not retried (is_retryable refuses Diagnostics::circuit_open). Above the authentication
// layer, because the question the breaker answers is "can this registry be used": one verdict per
// attempt, 401 rounds included in it, and a token service that is down makes the registry as
// unusable as the registry itself (a pull should go to a mirror either way). An open circuit
// stops the request before the authentication layer, so nothing below runs: no token fetch and
// no connection.
#pragma once

#include "floe/core/circuit_breaker_settings.hpp"
#include "floe/http/transport.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace floe::http {

using floe::CircuitBreakerSettings;

class CircuitBreaker {
  public:
    enum class State { closed, open, half_open };
    // What a finished request says about the host. Neutral: nothing (cancelled, a local error).
    enum class Outcome { success, failure, neutral };
    using Clock = std::function<std::chrono::steady_clock::time_point()>;
    // Called on every change of state, outside the breaker's lock (so it may query the breaker).
    using Listener = std::function<void(std::string_view host, State from, State to)>;

    // A request let through; it reports its outcome once. Dropped without one, it counts as
    // neutral, so a trial that was destroyed mid-flight frees its place.
    class Permit {
      public:
        Permit(Permit&& other) noexcept;
        Permit& operator=(Permit&&) = delete;
        ~Permit();
        void settle(Outcome outcome);

      private:
        friend class CircuitBreaker;
        Permit(CircuitBreaker* breaker, std::uint64_t epoch, bool trial)
            : breaker_(breaker), epoch_(epoch), trial_(trial) {}
        CircuitBreaker* breaker_;
        std::uint64_t epoch_; // the state it was admitted in; outcomes from older states are stale
        bool trial_;
    };

    explicit CircuitBreaker(std::string host, CircuitBreakerSettings settings = {},
                            Listener on_change = {}, Clock clock = std::chrono::steady_clock::now);

    // A permit to send, or nullopt: fail fast (the circuit is open, or half-open with all its
    // trial places taken). Moves open -> half-open once the recovery timeout has passed.
    std::optional<Permit> admit();

    State state() const;
    // Failures in a row (the count that opened the circuit, while it is open).
    int failures() const;
    // How long until the circuit lets a trial through; zero unless open.
    std::chrono::milliseconds retry_in() const;
    const std::string& host() const { return host_; }
    const CircuitBreakerSettings& settings() const { return settings_; }
    // The one-line reason a request was refused, e.g. "registry HOST is unavailable (circuit open
    // after 5 failures; retrying after 42s)".
    std::string refusal() const;

    // What an answer with this status says about the host: 5xx and 429 are failures, anything
    // else an answer from a registry that is up.
    static Outcome judge_status(int status);
    // What a thrown error says: network errors and the registry's 5xx/429 are failures,
    // anything else (cancelled, a local error, refused credentials) is neutral.
    static Outcome judge_error(const Error& error);

  private:
    struct Change {
        State from, to;
    };
    void settle(std::uint64_t epoch, bool trial, Outcome outcome);
    // Under the lock.
    Change move_to(State to);
    void notify(std::optional<Change> change) const;

    std::string host_;
    CircuitBreakerSettings settings_;
    Listener on_change_;
    Clock clock_;

    mutable std::mutex mutex_;
    State state_ = State::closed;
    std::uint64_t epoch_ = 0; // bumped on every change of state
    int failures_ = 0;
    int trials_ = 0; // trial requests in flight while half-open
    std::chrono::steady_clock::time_point opened_at_{};
};

std::string_view to_string(CircuitBreaker::State state);

// The breaker's layer of the transport stack (see the top of this file for its place).
class BreakerTransport final : public Transport {
  public:
    BreakerTransport(Transport& inner, std::shared_ptr<CircuitBreaker> breaker)
        : inner_(inner), breaker_(std::move(breaker)) {}
    // When the circuit is open: throws Error(network) with Diagnostics::circuit_open, at once.
    Task<Response> send(Call& call) override;
    const std::shared_ptr<CircuitBreaker>& breaker() const { return breaker_; }

  private:
    Transport& inner_;
    std::shared_ptr<CircuitBreaker> breaker_;
};

} // namespace floe::http
