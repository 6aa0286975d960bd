#include "floe/http/transport.hpp"

#include "floe/core/error.hpp"

#include <boost/asio/this_coro.hpp>

namespace floe::http {

using clock = std::chrono::steady_clock;

Task<void> throw_if_cancelled() {
    auto state = co_await boost::asio::this_coro::cancellation_state;
    if (state.cancelled() != boost::asio::cancellation_type::none)
        fail(Errc::cancelled, "cancelled");
}

Task<Response> HttpTransport::send(Call& call) {
    auto request = call.make();
    if (!observer_)
        co_return co_await client_.send(std::move(request));
    RequestEvent event;
    event.method = request.method;
    event.url = redact(request.url);
    event.attempt = call.attempt;
    event.request_bytes = request.stream ? request.stream_length : request.body.size();
    auto started = clock::now();
    std::optional<Error> failure;
    Response resp;
    try {
        resp = co_await client_.send(std::move(request));
    } catch (const Error& e) {
        failure = e;
    }
    event.time_to_first_byte =
        std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - started);
    if (failure) {
        event.error = failure->what();
        observer_(event);
        throw *failure;
    }
    event.status = resp.status;
    event.response_bytes = resp.content_length.value_or(0);
    event.url = redact(resp.url); // after redirects
    observer_(event);
    co_return resp;
}

Task<Response> RetryTransport::send(Call& call) {
    std::optional<RetryBudget> own;
    RetryBudget& budget = call.budget ? *call.budget : own.emplace(policy_);
    while (true) {
        call.attempt = budget.attempt();
        std::optional<Error> lost;
        try {
            auto resp = co_await inner_.send(call);
            if (!call.retry || !is_retryable_status(resp.status) || !budget.allow_another()) {
                co_return resp;
            }
            auto delay = budget.next_delay(resp.headers.get("Retry-After"));
            co_await resp.discard();
            co_await throw_if_cancelled();
            co_await sleep_for(delay);
            continue;
        } catch (const Error& e) {
            if (!call.retry || !is_retryable(e))
                throw;
            lost = e;
        }
        co_await throw_if_cancelled();
        if (!budget.allow_another()) {
            auto attempts = budget.retries();
            fail(Errc::network,
                 std::string(lost->what()) + " (gave up after " + std::to_string(attempts) +
                     (attempts == 1 ? " attempt)" : " attempts)"),
                 lost->diagnostics());
        }
        co_await sleep_for(budget.next_delay());
    }
}

} // namespace floe::http
