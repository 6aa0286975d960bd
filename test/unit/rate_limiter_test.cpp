#include "floe/core/byte_size.hpp"
#include "floe/core/error.hpp"
#include "floe/http/rate_limiter.hpp"

#include <doctest/doctest.h>

using namespace floe;
using namespace floe::http;
using namespace std::chrono_literals;
using clock_type = RateLimiter::clock;

TEST_CASE("rate limiter: the aggregate never runs ahead of the rate by more than the burst") {
    const std::uint64_t rate = 1'000'000, burst = 64'000;
    RateLimiter limiter(rate, burst);
    auto t = clock_type::time_point{} + 100s;
    // After idling, one burst passes at once...
    CHECK(limiter.charge(burst, t) == clock_type::duration::zero());
    // ...and then every byte costs 1 us: 500 kB means waiting 0.5 s.
    auto wait = limiter.charge(500'000, t);
    CHECK(wait >= 499ms);
    CHECK(wait <= 501ms);
    // Several connections share the same budget: their waits add up.
    auto wait2 = limiter.charge(500'000, t);
    CHECK(wait2 >= 999ms);
    // Simulated transfer: bytes moved by time T never exceed rate*T + burst.
    RateLimiter sim(rate, burst);
    auto now = clock_type::time_point{} + 1000s;
    auto start = now;
    std::uint64_t moved = 0;
    for (int i = 0; i < 1000; ++i) {
        moved += 65'536;
        now += sim.charge(65'536, now); // the caller sleeps exactly as told
        double elapsed = std::chrono::duration<double>(now - start).count();
        CHECK(double(moved) <= double(rate) * elapsed + double(burst) + 65'536.0);
    }
    double elapsed = std::chrono::duration<double>(now - start).count();
    CHECK(double(moved) / elapsed == doctest::Approx(double(rate)).epsilon(0.01));
}

TEST_CASE("rate limiter: zero means unlimited") {
    RateLimiter none(0, 0);
    CHECK(none.charge(1ull << 40, clock_type::now()) == clock_type::duration::zero());
}

TEST_CASE("rates parse with binary units") {
    CHECK(parse_byte_size("50M", "--limit-rate") == 50ull * 1024 * 1024);
    CHECK(parse_byte_size("800K", "--limit-rate") == 800ull * 1024);
    CHECK(parse_byte_size("1G", "--limit-rate") == 1024ull * 1024 * 1024);
    CHECK(parse_byte_size("1048576", "--limit-rate") == 1048576);
    // Sizes that would wrap round to a small number are refused, not taken.
    CHECK_THROWS_AS(parse_byte_size("17179869184G", "--limit-rate"), Error);
    CHECK_THROWS_AS(parse_byte_size("99999999999999999999", "--limit-rate"), Error);
    CHECK(parse_byte_size("8388608G", "--limit-rate") == std::uint64_t{1} << 53);
    for (auto bad : {"", "0", "-5M", "fast", "5X", "M"})
        CHECK_THROWS_AS(parse_byte_size(bad, "--limit-rate"), Error);
}
