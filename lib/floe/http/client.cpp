// HTTP/1.1 over an http::Stream: framing, keep-alive, redirects, bodies in fixed buffers.
// Beast's HTTP code is compiled here, once, for the one Stream type; opening connections (DNS,
// TCP, TLS) is stream.cpp. Protocol decisions live in the registry and auth layers.
#include "floe/http/client.hpp"

#include "floe/core/error.hpp"
#include "floe/core/printable.hpp"
#include "floe/http/stream.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http/buffer_body.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/serializer.hpp>
#include <boost/beast/http/write.hpp>

#include <fmt/format.h>

#include <map>
#include <strings.h>

namespace floe::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bhttp = boost::beast::http;
using clock = std::chrono::steady_clock;

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);
constexpr std::size_t stream_chunk = 1024 * 1024; // one buffer of request body in flight

// ---- Fields ---------------------------------------------------------------------------------

void Fields::set(std::string name, std::string value) {
    erase(name);
    add(std::move(name), std::move(value));
}

void Fields::erase(std::string_view name) {
    std::erase_if(items_, [&](auto& kv) {
        return kv.first.size() == name.size() &&
               strncasecmp(kv.first.data(), name.data(), name.size()) == 0;
    });
}

std::optional<std::string> Fields::get(std::string_view name) const {
    for (auto& [k, v] : items_)
        if (k.size() == name.size() && strncasecmp(k.data(), name.data(), name.size()) == 0)
            return v;
    return std::nullopt;
}

std::vector<std::string> Fields::get_all(std::string_view name) const {
    std::vector<std::string> out;
    for (auto& [k, v] : items_)
        if (k.size() == name.size() && strncasecmp(k.data(), name.data(), name.size()) == 0)
            out.push_back(v);
    return out;
}

// ---- Connections ----------------------------------------------------------------------------

namespace {

struct Connection {
    std::string origin;
    std::unique_ptr<Stream> stream;
    beast::flat_buffer buffer; // bytes read past the current message stay here
    bool reused = false;
};

} // namespace

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
    asio::any_io_executor ex;
    ClientOptions opt;
    Connector connector;
    std::map<std::string, std::vector<std::unique_ptr<Connection>>> idle;

    Impl(asio::any_io_executor e, ClientOptions o)
        : ex(std::move(e)), opt(std::move(o)), connector(ex, opt) {}

    std::unique_ptr<Connection> take_idle(const std::string& origin) {
        auto it = idle.find(origin);
        while (it != idle.end() && !it->second.empty()) {
            auto c = std::move(it->second.back());
            it->second.pop_back();
            if (c->stream->still_open()) {
                c->reused = true;
                return c;
            }
        }
        return nullptr;
    }

    void give_back(std::unique_ptr<Connection> c) {
        auto& list = idle[c->origin];
        if (list.size() < opt.max_idle_per_origin)
            list.push_back(std::move(c));
    }

    Task<std::unique_ptr<Connection>> connect(const Url& url) {
        auto c = std::make_unique<Connection>();
        c->origin = url.origin();
        c->stream = co_await connector.connect(url);
        co_return c;
    }
};

// ---- Response -------------------------------------------------------------------------------

// The minimum transfer rate: a body slower than `limit` bytes per second over `window` fails,
// since the per-read timeout alone re-arms on every byte a trickling server sends.
struct SpeedWatch {
    std::uint64_t limit = 0; // bytes per second; 0: off
    std::chrono::seconds window{30};
    clock::time_point since = clock::now();
    std::uint64_t bytes = 0;

    // False when the window that just ended was too slow.
    bool keeps_up(std::uint64_t n) {
        bytes += n;
        auto now = clock::now();
        if (limit == 0 || now - since < window)
            return true;
        bool fast = bytes >= limit * static_cast<std::uint64_t>(window.count());
        since = now;
        bytes = 0;
        return fast;
    }
};

struct Response::Impl {
    std::weak_ptr<Client::Impl> client;
    std::unique_ptr<Connection> conn;
    bhttp::response_parser<bhttp::buffer_body> parser;
    std::chrono::milliseconds io_timeout{60'000};
    std::string where; // redacted URL for messages
    std::shared_ptr<RateLimiter> limiter;
    std::uint64_t limit = 0; // body bytes this response may deliver
    std::uint64_t received = 0;
    bool direct = false;         // Content-Length body read without the parser
    std::uint64_t remaining = 0; // of a direct body
    bool done = false;
    SpeedWatch speed;

    void check_speed(std::size_t got) {
        if (speed.keeps_up(got))
            return;
        conn.reset();
        done = true;
        Diagnostics diag;
        diag.too_slow = true;
        fail(Errc::network,
             "the transfer from " + where + " was slower than " + std::to_string(speed.limit) +
                 " bytes/s for " + std::to_string(speed.window.count()) +
                 " s (the minimum transfer rate); giving up on it",
             diag);
    }

    // The body has been read: the connection may serve the next request.
    void finish() {
        done = true;
        if (!conn)
            return;
        auto c = client.lock();
        if (c && parser.keep_alive())
            c->give_back(std::move(conn));
        conn.reset();
    }
};

Response::Response() = default;
Response::~Response() = default;
Response::Response(Response&&) noexcept = default;
Response& Response::operator=(Response&&) noexcept = default;

// A body of known length is read straight from the socket into the caller's buffer (one
// large read, no copy through the parser): Beast's parser would read it 512 bytes at a time.
// Bytes that arrived with the header are in the connection's buffer and go first. Only
// Content-Length bytes are read, so a kept-alive connection stays in step.
Task<std::size_t> Response::read(std::span<std::byte> buf) {
    auto& I = *impl;
    if (I.direct && !I.done) {
        if (I.remaining == 0) {
            I.finish();
            co_return 0;
        }
        auto want = static_cast<std::size_t>(std::min<std::uint64_t>(buf.size(), I.remaining));
        std::size_t got = 0;
        if (I.conn->buffer.size() > 0) {
            got = asio::buffer_copy(asio::buffer(buf.data(), want), I.conn->buffer.data());
            I.conn->buffer.consume(got);
        } else {
            I.conn->stream->expires_after(I.io_timeout);
            auto [ec, n] =
                co_await I.conn->stream->async_read_some(asio::buffer(buf.data(), want), use_tuple);
            if (ec) {
                I.conn.reset();
                I.done = true;
                network_failure("connection lost while reading", I.where, ec);
            }
            got = n;
        }
        I.remaining -= got;
        I.received += got;
        if (I.limiter && got)
            co_await I.limiter->take(got);
        I.check_speed(got);
        if (I.remaining == 0)
            I.finish();
        co_return got;
    }
    while (!I.done) {
        if (I.parser.is_done()) {
            I.finish();
            break;
        }
        auto& body = I.parser.get().body();
        body.data = buf.data();
        body.size = buf.size();
        I.conn->stream->expires_after(I.io_timeout);
        auto [ec, n] =
            co_await bhttp::async_read_some(*I.conn->stream, I.conn->buffer, I.parser, use_tuple);
        if (ec == bhttp::error::need_buffer)
            ec = {};
        std::size_t got = buf.size() - I.parser.get().body().size;
        if (ec) {
            I.conn.reset();
            I.done = true;
            if (ec == bhttp::error::body_limit)
                fail(Errc::too_large, "response body from " + I.where + " is over its limit");
            network_failure("connection lost while reading", I.where, ec);
        }
        I.received += got;
        if (I.limiter && got)
            co_await I.limiter->take(got);
        I.check_speed(got);
        if (I.received > I.limit) {
            I.conn.reset();
            I.done = true;
            fail(Errc::too_large, "response body from " + I.where + " is larger than " +
                                      std::to_string(I.limit) + " bytes; refusing to read on");
        }
        if (I.parser.is_done())
            I.finish();
        if (got > 0)
            co_return got;
    }
    co_return 0;
}

Task<std::string> Response::read_all(std::size_t cap) {
    auto reader = as_reader();
    co_return co_await floe::read_all(*reader, cap);
}

Task<void> Response::discard() {
    std::byte sink[16 * 1024];
    std::size_t total = 0;
    while (auto n = co_await read(sink)) {
        total += n;
        if (total > 1024 * 1024) { // not worth reading: close instead
            impl->conn.reset();
            impl->done = true;
            break;
        }
    }
}

namespace {
class ResponseReader final : public BlobReader {
  public:
    explicit ResponseReader(Response& r) : r_(r) {}
    Task<std::size_t> read(std::span<std::byte> buf) override { return r_.read(buf); }

  private:
    Response& r_;
};
} // namespace

std::unique_ptr<BlobReader> Response::as_reader() {
    return std::make_unique<ResponseReader>(*this);
}

// ---- Client ---------------------------------------------------------------------------------

Client::Client(asio::any_io_executor ex, ClientOptions options)
    : impl_(std::make_shared<Impl>(std::move(ex), std::move(options))) {}
Client::~Client() = default;
Task<TlsFacts> Client::inspect_tls(const Url& url) {
    auto self = impl_; // the connector outlives the handshake
    co_return co_await self->connector.inspect_tls(url);
}

const ClientOptions& Client::options() const {
    return impl_->opt;
}
asio::any_io_executor Client::executor() const {
    return impl_->ex;
}

namespace {

bool is_redirect(int status) {
    return status == 301 || status == 302 || status == 303 || status == 307 || status == 308;
}

// A header value with a line break or NUL would end the header early and let whoever chose it
// (a token service's answer, a credential file) write headers or a request of its own.
void check_header_values(const Fields& headers) {
    for (auto& [name, value] : headers.items())
        if (value.find_first_of(std::string_view("\r\n\0", 3)) != std::string::npos)
            fail(Errc::protocol, "refusing to send the " + printable(name) +
                                     " header: its value holds a line break or NUL (a "
                                     "credential or token that is not what it claims to be)");
}

// One request on one connection. `stale` is set when a reused connection failed before the
// server answered anything, which means it was closed while idle and the request may be replayed.
Task<Response> send_once(std::shared_ptr<Client::Impl> client, Request& req, bool& stale) {
    auto& opt = client->opt;
    check_header_values(req.headers);
    auto conn = client->take_idle(req.url.origin());
    if (!conn)
        conn = co_await client->connect(req.url);
    std::string where = redact(req.url);

    bhttp::request<bhttp::buffer_body> msg;
    msg.method_string(req.method);
    msg.target(req.url.target);
    msg.version(11);
    msg.set(bhttp::field::host, req.url.host_header());
    msg.set(bhttp::field::user_agent, opt.user_agent);
    for (auto& [k, v] : req.headers.items())
        msg.insert(k, v);
    const bool streamed = req.stream != nullptr;
    std::uint64_t length = streamed ? req.stream_length : req.body.size();
    if (length > 0 || req.method == "PUT" || req.method == "POST" || req.method == "PATCH")
        msg.content_length(length);
    msg.body().data = streamed ? nullptr : (req.body.empty() ? nullptr : req.body.data());
    msg.body().size = streamed ? 0 : req.body.size();
    msg.body().more = streamed && length > 0;

    bhttp::request_serializer<bhttp::buffer_body> sr(msg);
    auto write_failed = [&](const beast::error_code& ec) {
        if (conn->reused && !streamed)
            stale = true;
        network_failure("connection lost while sending to", where, ec);
    };

    auto& stream = *conn->stream;
    const auto sending = clock::now();
    stream.expires_after(opt.io_timeout);
    if (!streamed || length == 0) {
        auto [ec, n] = co_await bhttp::async_write(stream, sr, use_tuple);
        if (ec)
            write_failed(ec);
    } else {
        auto [hec, hn] = co_await bhttp::async_write_header(stream, sr, use_tuple);
        if (hec)
            write_failed(hec);
        // Under a rate limit, small writes keep the aggregate within one buffer of the limit.
        std::vector<std::byte> chunk(opt.limiter ? 64 * 1024 : stream_chunk);
        std::uint64_t sent = 0;
        while (sent < length) {
            auto want =
                static_cast<std::size_t>(std::min<std::uint64_t>(chunk.size(), length - sent));
            auto n = co_await req.stream->read(std::span(chunk.data(), want));
            if (n == 0)
                fail(Errc::io, "upload source ended after " + std::to_string(sent) + " of " +
                                   std::to_string(length) + " bytes");
            sent += n;
            msg.body().data = chunk.data();
            msg.body().size = n;
            msg.body().more = sent < length;
            stream.expires_after(opt.io_timeout);
            auto [ec, w] = co_await bhttp::async_write(stream, sr, use_tuple);
            if (ec == bhttp::error::need_buffer)
                ec = {};
            if (ec)
                write_failed(ec);
            if (opt.limiter)
                co_await opt.limiter->take(n);
        }
    }

    Response resp;
    resp.impl = std::make_unique<Response::Impl>();
    auto& I = *resp.impl;
    I.client = client;
    I.io_timeout = opt.io_timeout;
    I.limiter = opt.limiter;
    I.speed.limit = opt.speed_limit;
    I.speed.window = opt.speed_time;
    I.where = where;
    // The limit depends on the status (an error body may be longer than the blob asked for), so
    // it is enforced while reading rather than by the parser.
    I.parser.body_limit(boost::none);
    if (req.method == "HEAD")
        I.parser.skip(true);
    stream.expires_after(opt.io_timeout);
    auto [rec, rn] = co_await bhttp::async_read_header(stream, conn->buffer, I.parser, use_tuple);
    resp.time_to_first_byte =
        std::chrono::duration_cast<std::chrono::microseconds>(clock::now() - sending);
    if (rec) {
        if (conn->reused && rn == 0 && !streamed)
            stale = true;
        if (rec == bhttp::error::body_limit)
            fail(Errc::too_large, "response from " + where + " is larger than expected (" +
                                      std::to_string(req.max_body) + " bytes at most)");
        network_failure("no answer from", where, rec);
    }
    resp.reused_connection = conn->reused;
    I.conn = std::move(conn);
    auto& head = I.parser.get();
    resp.status = static_cast<int>(head.result_int());
    for (auto& f : head)
        resp.headers.add(std::string(f.name_string()), std::string(f.value()));
    if (auto cl = I.parser.content_length())
        resp.content_length = *cl;
    const bool success = resp.status >= 200 && resp.status < 300;
    if (resp.content_length && !I.parser.chunked() && !I.parser.is_done() && req.method != "HEAD") {
        I.direct = true;
        I.remaining = *resp.content_length;
    }
    I.limit = success ? req.max_body : std::max<std::uint64_t>(req.max_body, 64 * 1024);
    if (resp.content_length && *resp.content_length > I.limit && req.method != "HEAD")
        fail(Errc::too_large, "response from " + where + " announces " +
                                  std::to_string(*resp.content_length) + " bytes, more than the " +
                                  std::to_string(I.limit) + " expected");
    resp.url = req.url;
    if (I.parser.is_done())
        I.finish();
    co_return resp;
}

} // namespace

Task<Response> Client::send(Request req) {
    auto client = impl_;
    auto& opt = client->opt;
    for (int hop = 0;; ++hop) {
        Response resp;
        for (int attempt = 0;; ++attempt) {
            bool stale = false;
            try {
                resp = co_await send_once(client, req, stale);
                break;
            } catch (const Error&) {
                if (!stale || attempt > 0)
                    throw;
            }
        }
        if (!req.follow_redirects || !is_redirect(resp.status) ||
            (req.method != "GET" && req.method != "HEAD"))
            co_return resp;
        auto location = resp.headers.get("Location");
        if (!location)
            co_return resp;
        if (hop >= opt.max_redirects)
            fail(Errc::protocol, "too many redirects from " + redact(req.url));
        Url next = req.url.follow(*location); // http(s) only, no downgrade from https
        // Credentials belong to one origin: never carry them to object storage or anywhere else.
        if (next.origin() != req.url.origin())
            req.headers.erase("Authorization");
        co_await resp.discard();
        req.url = std::move(next);
    }
}

} // namespace floe::http
