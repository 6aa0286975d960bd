// Merges concurrent waits for one result: the first coroutine does the work, the others wait
// for it to finish (on a timer that the finisher cancels) and then read what it left behind.
#pragma once

#include "floe/target/target.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <memory>
#include <vector>

namespace floe {

struct Flight {
    std::vector<std::shared_ptr<boost::asio::steady_timer>> waiters;

    // Suspends until land() is called.
    Task<void> wait() {
        auto timer = std::make_shared<boost::asio::steady_timer>(
            co_await boost::asio::this_coro::executor,
            boost::asio::steady_timer::time_point::max());
        waiters.push_back(timer);
        co_await timer->async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
    }
    void land() {
        for (auto& w : waiters)
            w->cancel();
        waiters.clear();
    }
};

} // namespace floe
