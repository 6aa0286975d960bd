// A connection's byte stream with its transport erased, and the code that opens one.
//
// Beast's HTTP operations are templates over the stream type; instantiated once for plain TCP
// and once more for TLS they made client.cpp the slowest file of the build. Stream is one
// concrete type that satisfies AsyncReadStream and AsyncWriteStream: its templated
// async_read_some/async_write_some forward to virtual functions that take an
// any_completion_handler, implemented once for beast::tcp_stream and once for
// beast::ssl_stream in stream.cpp. So Beast's HTTP code is compiled once (client.cpp) and the
// transports once (stream.cpp). The handler's cancellation slot travels with the
// any_completion_handler, so per-operation cancellation still reaches the socket.
//
// Internal header: it exposes Asio types. C++ callers use floe/client.hpp.
#pragma once

#include "floe/http/client.hpp"
#include "floe/http/tls_probe.hpp"
#include "floe/http/url.hpp"
#include "floe/target/target.hpp"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/system/error_code.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace floe::http {

// The first non-empty buffers of a buffer sequence, held by value so they can cross a virtual
// call. A *_some operation may move fewer bytes than offered, so leaving out buffers past
// `capacity` keeps its meaning (Beast's serializer offers far fewer).
template <class Buffer>
class BufferList {
  public:
    using value_type = Buffer;
    using const_iterator = const Buffer*;
    static constexpr std::size_t capacity = 16;

    template <class Sequence>
    explicit BufferList(const Sequence& seq) {
        auto end = boost::asio::buffer_sequence_end(seq);
        for (auto it = boost::asio::buffer_sequence_begin(seq); it != end && n_ < capacity; ++it) {
            Buffer b(*it);
            if (b.size() > 0)
                items_[n_++] = b;
        }
    }
    const Buffer* begin() const { return items_.data(); }
    const Buffer* end() const { return items_.data() + n_; }

  private:
    std::array<Buffer, capacity> items_{};
    std::size_t n_ = 0;
};

class Stream {
  public:
    using executor_type = boost::asio::any_io_executor;
    using Signature = void(boost::system::error_code, std::size_t);
    using Handler = boost::asio::any_completion_handler<Signature>;
    using MutableBuffers = BufferList<boost::asio::mutable_buffer>;
    using ConstBuffers = BufferList<boost::asio::const_buffer>;

    explicit Stream(executor_type ex) : ex_(std::move(ex)) {}
    virtual ~Stream() = default;
    Stream(const Stream&) = delete;
    Stream& operator=(const Stream&) = delete;

    executor_type get_executor() const noexcept { return ex_; }

    template <class MutableBufferSequence, class Token>
    auto async_read_some(const MutableBufferSequence& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, Signature>(
            [this](Handler handler, const MutableBuffers& b) {
                start_read_some(b, std::move(handler));
            },
            token, MutableBuffers(buffers));
    }

    template <class ConstBufferSequence, class Token>
    auto async_write_some(const ConstBufferSequence& buffers, Token&& token) {
        return boost::asio::async_initiate<Token, Signature>(
            [this](Handler handler, const ConstBuffers& b) {
                start_write_some(b, std::move(handler));
            },
            token, ConstBuffers(buffers));
    }

    // A deadline for the reads and writes that follow (TLS records included): when it passes,
    // the socket is closed and the pending operation fails with beast::error::timeout.
    virtual void expires_after(std::chrono::steady_clock::duration d) = 0;
    // A pooled connection the server closed while it sat idle reads as EOF (or stray bytes).
    virtual bool still_open() = 0;

  protected:
    virtual void start_read_some(const MutableBuffers& buffers, Handler handler) = 0;
    virtual void start_write_some(const ConstBuffers& buffers, Handler handler) = 0;

  private:
    executor_type ex_;
};

// What a name lookup found: endpoints, or why there are none.
struct Resolved {
    boost::system::error_code ec;
    std::vector<boost::asio::ip::tcp::endpoint> endpoints;
};
// A blocking lookup (getaddrinfo by default). It runs on a thread of its own.
using Lookup = std::function<Resolved(const std::string& host, const std::string& port)>;
Resolved system_lookup(const std::string& host, const std::string& port);

// host:port as endpoints within `timeout`; an IP literal needs no lookup. A lookup that hangs
// (an unreachable DNS server) is left behind on its thread: the caller gets Error(network)
// "timed out" on time, and cancellation ends the wait at once.
Task<std::vector<boost::asio::ip::tcp::endpoint>> resolve(const std::string& host,
                                                          const std::string& port,
                                                          std::chrono::milliseconds timeout,
                                                          Lookup lookup = system_lookup);

// Opens connections: DNS, TCP connect and the TLS handshake each within the connect timeout.
class Connector {
  public:
    // Loads the CA file now: a bad one is Error(invalid_argument).
    Connector(boost::asio::any_io_executor ex, const ClientOptions& options);
    ~Connector();
    Connector(const Connector&) = delete;
    Connector& operator=(const Connector&) = delete;

    // Throws Error(network) with what went wrong where.
    Task<std::unique_ptr<Stream>> connect(const Url& url);
    // Connects as connect() does (a failed lookup or TCP connect throws), then shakes hands
    // with a verifier that records the certificate's problems instead of failing on them, and
    // closes the connection. A failed handshake is a fact too (handshake_error), not a throw.
    Task<TlsFacts> inspect_tls(const Url& url);

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

// Error(network) for a failed operation: "<what> <where>: <why>", with TLS failures named as such
// (`handshake`: it happened while negotiating TLS, whatever the error's category).
[[noreturn]] void network_failure(const std::string& what, const std::string& where,
                                  const boost::system::error_code& ec, bool handshake = false);

} // namespace floe::http
