#include "floe/http/rate_limiter.hpp"

#include "floe/core/error.hpp"

namespace floe::http {

RateLimiter::RateLimiter(std::uint64_t bytes_per_second, std::uint64_t burst_bytes)
    : rate_(bytes_per_second),
      burst_(bytes_per_second
                 ? std::chrono::duration_cast<clock::duration>(std::chrono::duration<double>(
                       double(burst_bytes) / double(bytes_per_second)))
                 : clock::duration::zero()) {}

RateLimiter::clock::duration RateLimiter::charge(std::uint64_t bytes, clock::time_point now) {
    if (rate_ == 0)
        return clock::duration::zero();
    // Idle time earns at most one burst of credit.
    if (next_free_ < now - burst_)
        next_free_ = now - burst_;
    next_free_ += std::chrono::duration_cast<clock::duration>(
        std::chrono::duration<double>(double(bytes) / double(rate_)));
    return next_free_ > now ? next_free_ - now : clock::duration::zero();
}

Task<void> RateLimiter::take(std::uint64_t bytes) {
    auto wait = charge(bytes, clock::now());
    if (wait <= clock::duration::zero())
        co_return;
    co_await sleep_for(wait);
}

} // namespace floe::http
