// An HTTP/1.1 client for registries: keep-alive pool per origin, TLS, timeouts, redirects that
// never carry credentials to another origin, bodies streamed in fixed buffers, and a redacting
// request log. Beast lives in client.cpp and stream.cpp only.
#pragma once

#include "floe/http/rate_limiter.hpp"
#include "floe/http/tls_probe.hpp"
#include "floe/http/url.hpp"
#include "floe/target/target.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace floe::http {

// Header fields in order; lookups ignore case.
class Fields {
  public:
    void set(std::string name, std::string value);
    void add(std::string name, std::string value) {
        items_.emplace_back(std::move(name), std::move(value));
    }
    void erase(std::string_view name);
    std::optional<std::string> get(std::string_view name) const;
    std::vector<std::string> get_all(std::string_view name) const;
    const std::vector<std::pair<std::string, std::string>>& items() const { return items_; }

  private:
    std::vector<std::pair<std::string, std::string>> items_;
};

struct Request {
    std::string method = "GET";
    Url url;
    Fields headers;
    // A small body held in memory, or a stream of exactly stream_length bytes.
    std::string body;
    BlobReader* stream = nullptr;
    std::uint64_t stream_length = 0;
    // Largest response body this request will read; over it is Errc::too_large.
    std::uint64_t max_body = 1024 * 1024;
    bool follow_redirects = true;
};

// A response whose body has not been read yet. Reading it to the end hands the connection back
// to the pool; dropping it early closes the connection.
class Response {
  public:
    Response();
    ~Response();
    Response(Response&&) noexcept;
    Response& operator=(Response&&) noexcept;

    int status = 0;
    Fields headers;
    Url url; // where the response came from, after redirects
    std::optional<std::uint64_t> content_length;
    // For a request observer. Set by Client::send; they describe the request that produced this
    // response (the last hop after redirects).
    bool reused_connection = false; // the connection came from the idle pool
    // From starting to send the request (the connection open; the body, if any, counts) to
    // the response header parsed.
    std::chrono::microseconds time_to_first_byte{0};

    // Body bytes into buf; 0 at the end.
    Task<std::size_t> read(std::span<std::byte> buf);
    // The whole body, failing past `cap` bytes.
    Task<std::string> read_all(std::size_t cap = 64 * 1024);
    // Reads and drops what is left (small bodies), so the connection can be reused.
    Task<void> discard();
    // The body as a BlobReader (the Response must outlive it).
    std::unique_ptr<BlobReader> as_reader();

    struct Impl;
    std::unique_ptr<Impl> impl;
};

struct ClientOptions {
    std::string ca_file;                 // extra trusted CAs (PEM), on top of the system store
    bool insecure_skip_verify = false;   // TLS without certificate checks: for tests only
    std::string client_cert, client_key; // mutual TLS (PEM); both or neither
    std::chrono::milliseconds connect_timeout{10'000};
    std::chrono::milliseconds io_timeout{60'000}; // no byte moved for this long: give up
    int max_redirects = 5;
    std::size_t max_idle_per_origin = 8;
    std::string user_agent = "floe/0.1";
    // The minimum transfer rate of a response body (0: none), measured over speed_time.
    std::uint64_t speed_limit = 0;
    std::chrono::seconds speed_time{30};
    std::shared_ptr<RateLimiter> limiter; // one bandwidth budget for every connection
};

class Client {
  public:
    Client(boost::asio::any_io_executor ex, ClientOptions options);
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Sends a request and reads the response header. Network failures throw Error(network);
    // any status comes back as a Response.
    Task<Response> send(Request request);
    // What the TLS handshake with url's origin shows about its certificate (a health check);
    // a failed TCP connect throws Error(network). Uses no pooled connection and adds none.
    Task<TlsFacts> inspect_tls(const Url& url);

    const ClientOptions& options() const;
    boost::asio::any_io_executor executor() const;

    struct Impl;

  private:
    std::shared_ptr<Impl> impl_;
};

} // namespace floe::http
