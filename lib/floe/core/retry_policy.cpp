#include "floe/core/retry_policy.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <ctime>
#include <random>
#include <string>

namespace floe {

using namespace std::chrono;

milliseconds RetryPolicy::delay(int attempt, std::optional<std::string_view> retry_after) const {
    if (retry_after) {
        auto v = *retry_after;
        long seconds = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
        if (ec == std::errc() && p == v.data() + v.size() && seconds >= 0)
            return std::min<milliseconds>(seconds * 1000ms, retry_after_cap);
        std::tm tm{};
        std::string text(v);
        if (strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
            auto when = system_clock::from_time_t(timegm(&tm));
            auto wait = duration_cast<milliseconds>(when - system_clock::now());
            return std::clamp<milliseconds>(wait, 0ms, retry_after_cap);
        }
        // Unreadable: fall back to backoff.
    }
    const int step = std::clamp(attempt - 2, 0, 30);
    double base_ms = static_cast<double>(initial_delay.count()) * std::pow(multiplier, step);
    base_ms = std::min(base_ms, static_cast<double>(max_delay.count()));
    auto base = milliseconds(static_cast<long>(base_ms));
    if (!jitter || base.count() < 2)
        return base;
    static thread_local std::mt19937 rng{std::random_device{}()};
    std::uniform_int_distribution<long> extra(0, base.count() / 2);
    return std::min<milliseconds>(base + milliseconds(extra(rng)), max_delay);
}

milliseconds RetryPolicy::worst_case_backoff() const {
    milliseconds total{0};
    for (int attempt = 2; attempt <= max_attempts; ++attempt) {
        const int step = attempt - 2;
        double base_ms = static_cast<double>(initial_delay.count()) * std::pow(multiplier, step);
        base_ms = std::min(base_ms, static_cast<double>(max_delay.count()));
        auto base = milliseconds(static_cast<long>(base_ms));
        total += jitter ? std::min(base + base / 2, max_delay) : base;
    }
    return total;
}

} // namespace floe
