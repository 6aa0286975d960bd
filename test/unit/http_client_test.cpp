// The HTTP client against a tiny scripted server on 127.0.0.1: connection reuse and time to
// first byte as a request observer sees them, cancellation through Asio's cancellation slots
// (a request raced against a timer with `||` stops promptly), and name lookups that obey the
// connect timeout.
#include "floe/core/error.hpp"
#include "floe/http/client.hpp"
#include "floe/http/stream.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <exception>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace floe;
using namespace std::chrono_literals;
namespace asio = boost::asio;
using asio::ip::tcp;
using namespace asio::experimental::awaitable_operators;
using steady = std::chrono::steady_clock;

namespace {

// Runs a test body on its own io_context and stops it when the body ends (the server's
// coroutines are still waiting then); a body that hangs fails after `deadline`.
void run(std::function<Task<void>()> body, std::chrono::seconds deadline = 10s) {
    asio::io_context ioc;
    std::exception_ptr error;
    bool done = false;
    asio::co_spawn(ioc, body(), [&](std::exception_ptr e) {
        error = e;
        done = true;
        ioc.stop();
    });
    ioc.run_for(deadline);
    REQUIRE_MESSAGE(done, "the test body did not finish before its deadline");
    if (error)
        std::rethrow_exception(error);
}

enum class Script {
    answer,  // every request: wait 50 ms, then "200 OK" with a 2-byte body; keep-alive
    silent,  // read the request, never answer
    stalled, // answer with a header announcing 1000 bytes, send 10 of them, then nothing
};

struct Server {
    tcp::acceptor acceptor;
    Script script;
    int accepted = 0;
    std::vector<std::shared_ptr<tcp::socket>> sockets; // kept open until the test ends

    Server(asio::any_io_executor ex, Script s)
        : acceptor(ex, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0)), script(s) {}
    std::string url(std::string path = "/") const {
        return "http://127.0.0.1:" + std::to_string(acceptor.local_endpoint().port()) + path;
    }
};

Task<void> session(Server& server, std::shared_ptr<tcp::socket> socket) {
    std::string in;
    for (;;) {
        auto n = co_await asio::async_read_until(*socket, asio::dynamic_buffer(in), "\r\n\r\n",
                                                 asio::use_awaitable);
        in.erase(0, n);
        if (server.script == Script::silent)
            continue;
        if (server.script == Script::stalled) {
            std::string head = "HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789";
            co_await asio::async_write(*socket, asio::buffer(head), asio::use_awaitable);
            continue;
        }
        asio::steady_timer delay(socket->get_executor(), 50ms);
        co_await delay.async_wait(asio::use_awaitable);
        std::string reply = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok";
        co_await asio::async_write(*socket, asio::buffer(reply), asio::use_awaitable);
    }
}

Task<void> serve(Server& server) {
    for (;;) {
        auto socket = std::make_shared<tcp::socket>(
            co_await server.acceptor.async_accept(asio::use_awaitable));
        ++server.accepted;
        server.sockets.push_back(socket);
        asio::co_spawn(server.acceptor.get_executor(), session(server, socket), asio::detached);
    }
}

http::ClientOptions options() {
    http::ClientOptions o;
    o.connect_timeout = 5s;
    o.io_timeout = 60s; // far past the test deadline: only cancellation can end a stalled read
    return o;
}

} // namespace

TEST_CASE("http client: a pooled connection is reported as reused, with its time to first byte") {
    run([]() -> Task<void> {
        auto ex = co_await asio::this_coro::executor;
        Server server(ex, Script::answer);
        asio::co_spawn(ex, serve(server), asio::detached);
        http::Client client(ex, options());

        http::Request req;
        req.url = http::Url::parse(server.url("/v2/"));
        auto first = co_await client.send(req);
        CHECK(first.status == 200);
        CHECK_FALSE(first.reused_connection);
        CHECK(first.time_to_first_byte >= 50ms);
        CHECK(first.time_to_first_byte < 5s);
        CHECK(co_await first.read_all() == "ok"); // read to the end: back to the pool

        auto second = co_await client.send(req);
        CHECK(second.reused_connection);
        CHECK(second.time_to_first_byte >= 50ms);
        CHECK(co_await second.read_all() == "ok");
        CHECK(server.accepted == 1);
    });
}

TEST_CASE("http client: a request raced against a timer stops when the server never answers") {
    run([]() -> Task<void> {
        auto ex = co_await asio::this_coro::executor;
        Server server(ex, Script::silent);
        asio::co_spawn(ex, serve(server), asio::detached);
        http::Client client(ex, options());

        http::Request req;
        req.url = http::Url::parse(server.url("/v2/"));
        auto started = steady::now();
        auto winner = co_await (client.send(req) || sleep_for(200ms));
        CHECK(winner.index() == 1);
        CHECK(steady::now() - started < 3s);
        CHECK(server.accepted == 1);
    });
}

TEST_CASE("http client: a body read raced against a timer stops when the body stalls") {
    run([]() -> Task<void> {
        auto ex = co_await asio::this_coro::executor;
        Server server(ex, Script::stalled);
        asio::co_spawn(ex, serve(server), asio::detached);
        http::Client client(ex, options());

        http::Request req;
        req.url = http::Url::parse(server.url("/blob"));
        req.max_body = 4096;
        auto resp = co_await client.send(req);
        REQUIRE(resp.content_length == 1000u);
        std::size_t got = 0;
        auto read_body = [&]() -> Task<void> {
            std::byte buf[256];
            while (auto n = co_await resp.read(buf))
                got += n;
        };
        auto started = steady::now();
        auto winner = co_await (read_body() || sleep_for(200ms));
        CHECK(winner.index() == 1);
        CHECK(got == 10);
        CHECK(steady::now() - started < 3s);
    });
}

TEST_CASE("http client: name lookups obey the connect timeout") {
    // A lookup that hangs, as getaddrinfo does with an unreachable DNS server.
    auto slow = [](const std::string&, const std::string&) {
        std::this_thread::sleep_for(1500ms);
        return http::Resolved{{}, {tcp::endpoint(asio::ip::make_address("127.0.0.1"), 1)}};
    };
    auto fast = [](const std::string&, const std::string&) {
        return http::Resolved{{}, {tcp::endpoint(asio::ip::make_address("127.0.0.1"), 8443)}};
    };
    run([&]() -> Task<void> {
        auto started = steady::now();
        std::string message;
        try {
            co_await http::resolve("registry.test", "443", 100ms, slow);
        } catch (const Error& e) {
            CHECK(e.errc() == Errc::network);
            message = e.what();
        }
        CHECK(message == "cannot resolve registry.test: timed out");
        CHECK(steady::now() - started < 1s);

        auto found = co_await http::resolve("registry.test", "8443", 1s, fast);
        REQUIRE(found.size() == 1);
        CHECK(found[0].port() == 8443);
        // An address needs no lookup at all.
        auto literal = co_await http::resolve("127.0.0.1", "5000", 1ms, slow);
        REQUIRE(literal.size() == 1);
        CHECK(literal[0].port() == 5000);
        // The system resolver, through the same path.
        auto local = co_await http::resolve("localhost", "80", 5s);
        CHECK_FALSE(local.empty());
    });
}
