#include "floe/http/rate_limiter.hpp"

#include "floe/core/error.hpp"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cctype>
#include <charconv>

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
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, wait);
    co_await timer.async_wait(boost::asio::use_awaitable);
}

std::uint64_t parse_rate(std::string_view text) {
    std::uint64_t value = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    std::string_view unit(end, static_cast<std::size_t>(text.data() + text.size() - end));
    std::uint64_t scale = 1;
    if (unit == "K" || unit == "k" || unit == "KiB")
        scale = 1024;
    else if (unit == "M" || unit == "m" || unit == "MiB")
        scale = 1024 * 1024;
    else if (unit == "G" || unit == "g" || unit == "GiB")
        scale = 1024 * 1024 * 1024;
    else if (!unit.empty() && unit != "B")
        ec = std::errc::invalid_argument;
    if (ec != std::errc() || value == 0)
        fail(Errc::invalid_argument, "rate '" + std::string(text) +
                                         "' is not a positive number of bytes per second "
                                         "(examples: 800K, 50M, 1G)");
    return value * scale;
}

} // namespace floe::http
