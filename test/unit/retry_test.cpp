// The one retry policy, classifier and budget (core/retry_policy.hpp, http/retry.hpp).
#include "floe/http/retry.hpp"

#include <doctest/doctest.h>

using namespace floe;
using namespace floe::http;
using namespace std::chrono_literals;

TEST_CASE("retry classifier: statuses") {
    for (int s : {408, 429, 500, 502, 503, 504})
        CHECK(is_retryable_status(s));
    for (int s : {200, 201, 400, 401, 403, 404, 405, 416})
        CHECK_FALSE(is_retryable_status(s));
}

TEST_CASE("retry classifier: errors") {
    CHECK(is_retryable(Error(Errc::network, "connection reset")));
    Diagnostics tls;
    tls.tls = true;
    CHECK_FALSE(is_retryable(Error(Errc::network, "certificate verify failed", tls)));
    Diagnostics busy, broken;
    busy.http_status = 503;
    broken.http_status = 501;
    CHECK(is_retryable(Error(Errc::registry, "busy", busy)));
    CHECK_FALSE(is_retryable(Error(Errc::registry, "broken", broken)));
    CHECK_FALSE(is_retryable(Error(Errc::verification_failed, "corrupt")));
    CHECK_FALSE(is_retryable(Error(Errc::unauthorized, "no")));
    CHECK_FALSE(is_retryable(Error(Errc::cancelled, "stop")));
}

TEST_CASE("retry delay: backoff grows, jitter stays bounded, Retry-After wins, caps hold") {
    RetryPolicy p;
    for (int i = 0; i < 50; ++i) {
        auto first_retry = p.delay(2, std::nullopt);
        CHECK(first_retry >= 200ms);
        CHECK(first_retry <= 300ms);
        auto third = p.delay(4, std::nullopt);
        CHECK(third >= 800ms);
        CHECK(third <= 1200ms);
    }
    CHECK(p.delay(2, "7") == 7000ms);
    CHECK(p.delay(2, "0") == 0ms);
    CHECK(p.delay(2, "9999") == p.retry_after_cap);
    CHECK(p.delay(40, std::nullopt) <= p.max_delay);
    CHECK(p.delay(2, "Wed, 21 Oct 2015 07:28:00 GMT") == 0ms); // in the past
    CHECK(p.delay(2, "soon") >= 200ms);                        // unreadable: backoff

    RetryPolicy fixed;
    fixed.jitter = false;
    fixed.initial_delay = 1000ms;
    fixed.multiplier = 3.0;
    fixed.max_delay = 5000ms;
    CHECK(fixed.delay(2, std::nullopt) == 1000ms);
    CHECK(fixed.delay(3, std::nullopt) == 3000ms);
    CHECK(fixed.delay(4, std::nullopt) == 5000ms); // capped
}

TEST_CASE("worst-case backoff is the documented bound") {
    RetryPolicy p; // 4 attempts: waits of at most 300 + 600 + 1200 ms
    CHECK(p.worst_case_backoff() == 2100ms);
    p.jitter = false;
    CHECK(p.worst_case_backoff() == 1400ms);
    p.max_attempts = 1;
    CHECK(p.worst_case_backoff() == 0ms);
}

TEST_CASE("budget: max_attempts in a row without progress") {
    RetryPolicy p;
    RetryBudget b(p);
    CHECK(b.attempt() == 1);
    CHECK(b.allow_another());
    CHECK(b.allow_another());
    CHECK(b.allow_another());
    CHECK(b.attempt() == 4);
    CHECK_FALSE(b.allow_another()); // the 4th failure ends it
}

TEST_CASE("budget: progress earns attempts, up to the total bound") {
    RetryPolicy p;
    RetryBudget b(p);
    int allowed = 0;
    while (b.allow_another(true))
        ++allowed;
    CHECK(allowed == p.max_total_attempts() - 1);
    CHECK(b.retries() == p.max_total_attempts());

    RetryBudget c(p);
    CHECK(c.allow_another(false));
    CHECK(c.allow_another(false));
    CHECK(c.allow_another(true)); // progress: the run without progress starts again
    CHECK(c.allow_another(false));
    CHECK(c.allow_another(false));
    CHECK_FALSE(c.allow_another(false));
}
