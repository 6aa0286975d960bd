// One bandwidth budget shared by every connection of an operation (a token bucket kept as a
// "next free time", GCRA style). A transfer pays for the bytes it moved; when it is ahead of the
// rate it waits. The burst allowance is one buffer, so the aggregate never runs ahead of the
// limit by more than that.
#pragma once

#include "floe/target/target.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <cstdint>

namespace floe::http {

class RateLimiter {
  public:
    using clock = std::chrono::steady_clock;

    // bytes_per_second == 0 means unlimited (take() returns at once).
    RateLimiter(std::uint64_t bytes_per_second, std::uint64_t burst_bytes);

    std::uint64_t rate() const { return rate_; }
    // How long the caller must wait before moving on, having just moved `bytes`. Pure: the
    // clock is passed in, so the policy is testable without timers.
    clock::duration charge(std::uint64_t bytes, clock::time_point now);
    // charge() and then wait.
    Task<void> take(std::uint64_t bytes);

  private:
    std::uint64_t rate_;
    clock::duration burst_;
    clock::time_point next_free_{};
};

} // namespace floe::http
