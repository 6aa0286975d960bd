// The per-host circuit breaker (http/circuit_breaker.hpp): the state machine on a fake clock, and
// its layer of the transport stack over a fake inner transport. No sockets, no real time.
#include "floe/http/circuit_breaker.hpp"

#include "run_task.hpp"

#include <doctest/doctest.h>

#include <deque>
#include <string>
#include <vector>

using namespace floe;
using namespace floe::http;
using namespace std::chrono_literals;
using State = CircuitBreaker::State;
using Outcome = CircuitBreaker::Outcome;

namespace {

struct FakeClock {
    std::chrono::steady_clock::time_point now{std::chrono::hours(1)};
    CircuitBreaker::Clock clock() {
        return [this] { return now; };
    }
};

struct Changes {
    std::vector<std::string> seen;
    CircuitBreaker::Listener listener() {
        return [this](std::string_view host, State from, State to) {
            seen.push_back(std::string(host) + " " + std::string(to_string(from)) + "->" +
                           std::string(to_string(to)));
        };
    }
};

CircuitBreakerSettings settings(int threshold = 5, std::chrono::milliseconds recovery = 60s,
                                int trials = 1) {
    CircuitBreakerSettings s;
    s.enabled = true;
    s.failure_threshold = threshold;
    s.recovery_timeout = recovery;
    s.half_open_requests = trials;
    return s;
}

void fail_times(CircuitBreaker& breaker, int n) {
    for (int i = 0; i < n; ++i) {
        auto permit = breaker.admit();
        REQUIRE(permit);
        permit->settle(Outcome::failure);
    }
}

} // namespace

TEST_CASE("breaker: opens after failure_threshold failures in a row, and fails fast") {
    FakeClock clock;
    Changes changes;
    CircuitBreaker breaker("registry.example:5000", settings(5), changes.listener(), clock.clock());
    fail_times(breaker, 4);
    CHECK(breaker.state() == State::closed);
    CHECK(breaker.failures() == 4);
    CHECK(changes.seen.empty());
    fail_times(breaker, 1);
    CHECK(breaker.state() == State::open);
    CHECK(changes.seen == std::vector<std::string>{"registry.example:5000 closed->open"});
    CHECK_FALSE(breaker.admit());
    clock.now += 59'999ms;
    CHECK_FALSE(breaker.admit());
    CHECK(breaker.retry_in() == 1ms);
    CHECK(breaker.refusal() == "registry registry.example:5000 is unavailable (circuit open "
                               "after 5 failures; retrying after 1s)");
}

TEST_CASE("breaker: a success resets the count; neutral outcomes do not count") {
    FakeClock clock;
    CircuitBreaker breaker("h", settings(3), {}, clock.clock());
    fail_times(breaker, 2);
    breaker.admit()->settle(Outcome::success);
    CHECK(breaker.failures() == 0);
    fail_times(breaker, 2);
    breaker.admit()->settle(Outcome::neutral);
    { auto dropped = breaker.admit(); } // destroyed unsettled: neutral
    CHECK(breaker.state() == State::closed);
    CHECK(breaker.failures() == 2);
    fail_times(breaker, 1);
    CHECK(breaker.state() == State::open);
}

TEST_CASE("breaker: half-open after the recovery timeout; a success closes it") {
    FakeClock clock;
    Changes changes;
    CircuitBreaker breaker("h", settings(2, 10s), changes.listener(), clock.clock());
    fail_times(breaker, 2);
    clock.now += 10s;
    CHECK(breaker.retry_in() == 0ms);
    auto trial = breaker.admit();
    REQUIRE(trial);
    CHECK(breaker.state() == State::half_open);
    CHECK_FALSE(breaker.admit()); // one trial at a time
    CHECK(breaker.refusal() == "registry h is unavailable (circuit open after 2 failures; a "
                               "trial request is under way)");
    trial->settle(Outcome::success);
    CHECK(breaker.state() == State::closed);
    CHECK(breaker.failures() == 0);
    CHECK(breaker.admit());
    CHECK(changes.seen ==
          std::vector<std::string>{"h closed->open", "h open->half-open", "h half-open->closed"});
}

TEST_CASE("breaker: a failed trial re-opens it for another recovery timeout") {
    FakeClock clock;
    Changes changes;
    CircuitBreaker breaker("h", settings(2, 10s), changes.listener(), clock.clock());
    fail_times(breaker, 2);
    clock.now += 10s;
    breaker.admit()->settle(Outcome::failure);
    CHECK(breaker.state() == State::open);
    CHECK(breaker.failures() == 3);
    CHECK(breaker.retry_in() == 10s);
    clock.now += 9s;
    CHECK_FALSE(breaker.admit());
    clock.now += 1s;
    CHECK(breaker.admit());
    CHECK(changes.seen == std::vector<std::string>{"h closed->open", "h open->half-open",
                                                   "h half-open->open", "h open->half-open"});
}

TEST_CASE("breaker: half_open_requests trials in flight; the rest fail fast") {
    FakeClock clock;
    CircuitBreaker breaker("h", settings(1, 1s, 2), {}, clock.clock());
    fail_times(breaker, 1);
    clock.now += 1s;
    auto first = breaker.admit();
    auto second = breaker.admit();
    CHECK(first);
    CHECK(second);
    CHECK_FALSE(breaker.admit());
    CHECK_FALSE(breaker.admit());
    // A cancelled trial gives its place to the next request, and leaves the state alone.
    first->settle(Outcome::neutral);
    CHECK(breaker.state() == State::half_open);
    auto third = breaker.admit();
    CHECK(third);
    CHECK_FALSE(breaker.admit());
    second->settle(Outcome::success);
    CHECK(breaker.state() == State::closed);
    // The other trial, finishing after the circuit closed, speaks of a past state.
    third->settle(Outcome::failure);
    CHECK(breaker.failures() == 0);
}

TEST_CASE("breaker: late outcomes of requests admitted before a change are ignored") {
    FakeClock clock;
    CircuitBreaker breaker("h", settings(2, 1s), {}, clock.clock());
    auto slow_success = breaker.admit();
    auto slow_failure = breaker.admit();
    fail_times(breaker, 2);
    REQUIRE(breaker.state() == State::open);
    slow_success->settle(Outcome::success); // does not close an open circuit
    CHECK(breaker.state() == State::open);
    clock.now += 1s;
    auto trial = breaker.admit();
    REQUIRE(trial);
    slow_failure->settle(Outcome::failure); // does not re-open a half-open one
    CHECK(breaker.state() == State::half_open);
    trial->settle(Outcome::success);
    CHECK(breaker.state() == State::closed);
}

TEST_CASE("breaker: a disabled breaker never opens") {
    FakeClock clock;
    Changes changes;
    auto s = settings(1);
    s.enabled = false;
    CircuitBreaker breaker("h", s, changes.listener(), clock.clock());
    fail_times(breaker, 50);
    CHECK(breaker.state() == State::closed);
    CHECK(breaker.admit());
    CHECK(changes.seen.empty());
}

TEST_CASE("breaker: what counts as a failure") {
    for (int s : {500, 502, 503, 504, 429})
        CHECK(CircuitBreaker::judge_status(s) == Outcome::failure);
    for (int s : {200, 204, 301, 307, 400, 401, 403, 404, 416})
        CHECK(CircuitBreaker::judge_status(s) == Outcome::success);
    CHECK(CircuitBreaker::judge_error(Error(Errc::network, "reset")) == Outcome::failure);
    Diagnostics tls;
    tls.tls = true;
    CHECK(CircuitBreaker::judge_error(Error(Errc::network, "cert", tls)) == Outcome::failure);
    Diagnostics busy, missing, open;
    busy.http_status = 503;
    missing.http_status = 404;
    open.circuit_open = true;
    CHECK(CircuitBreaker::judge_error(Error(Errc::registry, "busy", busy)) == Outcome::failure);
    CHECK(CircuitBreaker::judge_error(Error(Errc::registry, "no", missing)) == Outcome::neutral);
    CHECK(CircuitBreaker::judge_error(Error(Errc::cancelled, "stop")) == Outcome::neutral);
    CHECK(CircuitBreaker::judge_error(Error(Errc::unauthorized, "no")) == Outcome::neutral);
    CHECK(CircuitBreaker::judge_error(Error(Errc::network, "open", open)) == Outcome::neutral);
}

TEST_CASE("retry classifier: an open circuit is not retried") {
    Diagnostics open;
    open.circuit_open = true;
    CHECK_FALSE(is_retryable(Error(Errc::network, "circuit open", open)));
}

namespace {

// Answers each call with the next scripted status; 0 throws a network error.
class FakeTransport final : public Transport {
  public:
    explicit FakeTransport(std::deque<int> script) : script_(std::move(script)) {}
    Task<Response> send(Call&) override {
        ++calls;
        int status = script_.empty() ? 200 : script_.front();
        if (!script_.empty())
            script_.pop_front();
        if (status == 0)
            fail(Errc::network, "connection refused");
        if (status < 0)
            fail(Errc::cancelled, "cancelled");
        Response resp;
        resp.status = status;
        co_return resp;
    }
    int calls = 0;

  private:
    std::deque<int> script_;
};

Call plain_call() {
    Call call;
    call.make = [] {
        Request r;
        r.url = Url::parse("https://h/v2/");
        return r;
    };
    return call;
}

// The status of the answer, or the error it threw.
struct Result {
    int status = 0;
    std::optional<Error> error;
};

Result send_once(Transport& transport) {
    return test::run_task([&]() -> Task<Result> {
        auto call = plain_call();
        try {
            auto resp = co_await transport.send(call);
            co_return Result{resp.status, {}};
        } catch (const Error& e) {
            co_return Result{0, e};
        }
    }());
}

} // namespace

TEST_CASE("breaker transport: the 6th call after 5 failures fails at once, without a send") {
    FakeClock clock;
    auto breaker =
        std::make_shared<CircuitBreaker>("h:5000", settings(5, 30s), nullptr, clock.clock());
    FakeTransport inner({0, 503, 0, 502, 429});
    BreakerTransport transport(inner, breaker);
    for (int i = 0; i < 5; ++i)
        send_once(transport);
    CHECK(inner.calls == 5);
    auto refused = send_once(transport);
    CHECK(inner.calls == 5);
    REQUIRE(refused.error);
    CHECK(refused.error->errc() == Errc::network);
    CHECK(refused.error->diagnostics().circuit_open);
    CHECK(std::string(refused.error->what()) ==
          "registry h:5000 is unavailable (circuit open after 5 failures; retrying after 30s)");
    // After the recovery timeout, one trial goes through; its success closes the circuit.
    clock.now += 30s;
    CHECK(send_once(transport).status == 200);
    CHECK(inner.calls == 6);
    CHECK(breaker->state() == State::closed);
}

TEST_CASE("breaker transport: 4xx answers keep it closed; cancellation does not count") {
    FakeClock clock;
    auto breaker = std::make_shared<CircuitBreaker>("h", settings(2), nullptr, clock.clock());
    FakeTransport inner({503, 404, 503, -1, 401, 503, -1, 503});
    BreakerTransport transport(inner, breaker);
    for (int i = 0; i < 6; ++i)
        send_once(transport);
    CHECK(breaker->state() == State::closed);
    send_once(transport); // cancelled
    CHECK(breaker->state() == State::closed);
    send_once(transport); // the second 503 in a row
    CHECK(breaker->state() == State::open);
    CHECK(inner.calls == 8);
}

TEST_CASE("breaker under the retry layer: each attempt counts; an open circuit ends the retries") {
    FakeClock clock;
    auto breaker = std::make_shared<CircuitBreaker>("h", settings(3), nullptr, clock.clock());
    FakeTransport inner({0, 0, 0, 0, 0, 0});
    BreakerTransport guarded(inner, breaker);
    RetryPolicy policy;
    policy.max_attempts = 5;
    policy.initial_delay = 0ms;
    policy.jitter = false;
    RetryTransport retrying(guarded, policy);
    auto result = send_once(retrying);
    CHECK(inner.calls == 3); // the 4th attempt was refused, and not retried
    REQUIRE(result.error);
    CHECK(result.error->diagnostics().circuit_open);
    CHECK(std::string(result.error->what()).find("gave up") == std::string::npos);
    CHECK(breaker->state() == State::open);
}
