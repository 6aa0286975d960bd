// The facade's deadline: a call past its deadline is cancelled through Asio's cancellation slots
// and throws promptly, whatever it was waiting for (here a TLS handshake with a server that
// accepted the connection and never speaks).
#include "floe/client.hpp"

#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <chrono>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

using namespace floe;
using namespace std::chrono_literals;

TEST_CASE("a deadline cancels a call that would otherwise wait for its timeout") {
    // A listening socket nobody accepts from: connects succeed (the kernel's backlog), then
    // nothing is ever said.
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    REQUIRE(fd >= 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(fd, 16) == 0);
    socklen_t len = sizeof addr;
    ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
    auto ref = Reference::parse("127.0.0.1:" + std::to_string(ntohs(addr.sin_port)) + "/x:1");

    ClientOptions options;
    options.timeout = 60s; // the deadline, not the timeout, must end it
    Client client(options);
    auto started = std::chrono::steady_clock::now();
    try {
        client.inspect(ref, std::chrono::steady_clock::now() + 300ms);
        FAIL("the call returned");
    } catch (const Error& e) {
        CHECK(e.errc() == Errc::network);
        CHECK(std::string(e.what()).find("deadline") != std::string::npos);
    }
    CHECK(std::chrono::steady_clock::now() - started < 10s);
    ::close(fd);
}
