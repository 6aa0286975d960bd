// Runs a coroutine to completion on a private io_context, with a deadline, so a hang fails the
// test instead of blocking CI.
#pragma once

#include "floe/target/target.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <exception>
#include <optional>
#include <stdexcept>

namespace floe::test {

template <class T>
T run_task(Task<T> task, std::chrono::seconds deadline = std::chrono::seconds(30)) {
    boost::asio::io_context ioc;
    std::exception_ptr error;
    std::optional<T> value;
    bool done = false;
    boost::asio::co_spawn(ioc, std::move(task), [&](std::exception_ptr e, T v) {
        error = e;
        if (!e)
            value = std::move(v);
        done = true;
    });
    ioc.run_for(deadline);
    if (!done)
        throw std::runtime_error("task did not finish before its deadline");
    if (error)
        std::rethrow_exception(error);
    return std::move(*value);
}

inline void run_task(Task<void> task, std::chrono::seconds deadline = std::chrono::seconds(30)) {
    run_task(
        [](Task<void> t) -> Task<bool> {
            co_await std::move(t);
            co_return true;
        }(std::move(task)),
        deadline);
}

} // namespace floe::test
