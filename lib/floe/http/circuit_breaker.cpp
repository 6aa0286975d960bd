#include "floe/http/circuit_breaker.hpp"

#include "floe/core/error.hpp"
#include "floe/core/printable.hpp"

#include <algorithm>
#include <utility>

namespace floe::http {

using State = CircuitBreaker::State;
using Outcome = CircuitBreaker::Outcome;

CircuitBreaker::Permit::Permit(Permit&& other) noexcept
    : breaker_(std::exchange(other.breaker_, nullptr)), epoch_(other.epoch_), trial_(other.trial_) {
}

CircuitBreaker::Permit::~Permit() {
    settle(Outcome::neutral);
}

void CircuitBreaker::Permit::settle(Outcome outcome) {
    if (auto* breaker = std::exchange(breaker_, nullptr))
        breaker->settle(epoch_, trial_, outcome);
}

CircuitBreaker::CircuitBreaker(std::string host, CircuitBreakerSettings settings,
                               Listener on_change, Clock clock)
    : host_(std::move(host)), settings_(settings), on_change_(std::move(on_change)),
      clock_(std::move(clock)) {
    // The configuration validates its ranges; a breaker that opens before any failure, or
    // never lets a trial through, would never close again.
    settings_.failure_threshold = std::max(1, settings_.failure_threshold);
    settings_.half_open_requests = std::max(1, settings_.half_open_requests);
}

std::optional<CircuitBreaker::Permit> CircuitBreaker::admit() {
    std::optional<Permit> permit;
    if (!settings_.enabled) { // a permit that reports to no one
        permit.emplace(Permit(nullptr, 0, false));
        return permit;
    }
    std::optional<Change> change;
    {
        std::lock_guard lock(mutex_);
        if (state_ == State::open && clock_() - opened_at_ >= settings_.recovery_timeout)
            change = move_to(State::half_open);
        if (state_ == State::closed) {
            permit.emplace(Permit(this, epoch_, false));
        } else if (state_ == State::half_open && trials_ < settings_.half_open_requests) {
            ++trials_;
            permit.emplace(Permit(this, epoch_, true));
        }
    }
    notify(change);
    return permit;
}

void CircuitBreaker::settle(std::uint64_t epoch, bool trial, Outcome outcome) {
    std::optional<Change> change;
    {
        std::lock_guard lock(mutex_);
        // A request admitted before the last change of state speaks of a past state: one let
        // through while closed that fails after the circuit opened must not re-open it later.
        if (epoch != epoch_)
            return;
        if (state_ == State::closed) {
            if (outcome == Outcome::success)
                failures_ = 0;
            else if (outcome == Outcome::failure && ++failures_ >= settings_.failure_threshold)
                change = move_to(State::open);
        } else if (state_ == State::half_open && trial) {
            if (outcome == Outcome::success) {
                change = move_to(State::closed);
            } else if (outcome == Outcome::failure) {
                ++failures_;
                change = move_to(State::open);
            } else {
                --trials_; // its place goes to the next request
            }
        }
    }
    notify(change);
}

CircuitBreaker::Change CircuitBreaker::move_to(State to) {
    Change change{state_, to};
    state_ = to;
    ++epoch_;
    trials_ = 0;
    if (to == State::open)
        opened_at_ = clock_();
    if (to == State::closed)
        failures_ = 0;
    return change;
}

void CircuitBreaker::notify(std::optional<Change> change) const {
    if (change && on_change_)
        on_change_(host_, change->from, change->to);
}

State CircuitBreaker::state() const {
    std::lock_guard lock(mutex_);
    return state_;
}

int CircuitBreaker::failures() const {
    std::lock_guard lock(mutex_);
    return failures_;
}

std::chrono::milliseconds CircuitBreaker::retry_in() const {
    std::lock_guard lock(mutex_);
    if (state_ != State::open)
        return std::chrono::milliseconds(0);
    auto left = settings_.recovery_timeout - (clock_() - opened_at_);
    return std::max(std::chrono::milliseconds(0),
                    std::chrono::ceil<std::chrono::milliseconds>(left));
}

std::string CircuitBreaker::refusal() const {
    auto wait = retry_in();
    auto failures = this->failures();
    auto seconds = std::chrono::ceil<std::chrono::seconds>(wait).count();
    std::string text = "registry " + printable(host_) + " is unavailable (circuit open after " +
                       std::to_string(failures) + (failures == 1 ? " failure" : " failures");
    if (state() == State::half_open)
        return text + "; a trial request is under way)";
    return text + "; retrying after " + std::to_string(seconds) + "s)";
}

Outcome CircuitBreaker::judge_status(int status) {
    return status >= 500 || status == 429 ? Outcome::failure : Outcome::success;
}

Outcome CircuitBreaker::judge_error(const Error& error) {
    const auto& diag = error.diagnostics();
    if (diag.circuit_open)
        return Outcome::neutral;
    switch (error.errc()) {
    case Errc::network:
        return Outcome::failure;
    case Errc::registry:
        return diag.http_status >= 500 || diag.http_status == 429 ? Outcome::failure
                                                                  : Outcome::neutral;
    default:
        return Outcome::neutral;
    }
}

std::string_view to_string(State state) {
    switch (state) {
    case State::closed:
        return "closed";
    case State::open:
        return "open";
    case State::half_open:
        return "half-open";
    }
    return "unknown";
}

Task<Response> BreakerTransport::send(Call& call) {
    auto permit = breaker_->admit();
    if (!permit) {
        Diagnostics diag;
        diag.circuit_open = true; // not retried; a failover layer moves on to a mirror
        fail(Errc::network, breaker_->refusal(), diag);
    }
    try {
        auto resp = co_await inner_.send(call);
        permit->settle(CircuitBreaker::judge_status(resp.status));
        co_return resp;
    } catch (const Error& e) {
        permit->settle(CircuitBreaker::judge_error(e));
        throw;
    }
}

} // namespace floe::http
