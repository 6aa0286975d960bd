// The transports behind http::Stream (plain TCP and TLS, each compiled once here) and the code
// that opens a connection: name lookup, TCP connect, TLS handshake, each within the connect
// timeout. No HTTP here; that is client.cpp.
#include "floe/http/stream.hpp"

#include "floe/core/error.hpp"
#include "floe/core/printable.hpp"

#include <boost/asio/append.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <charconv>
#include <cstring>
#include <mutex>
#include <thread>

#include <netdb.h>
#include <sys/socket.h>
#include <sys/stat.h>

namespace floe::http {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

bool peek_open(tcp::socket& socket) {
    char c;
    auto n = ::recv(socket.native_handle(), &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

// An erased handler in the form Beast's streams can take. Beast posts some completions with
// blocking.never (basic_stream, below asio::ssl::stream), which Boost 1.81's
// any_completion_executor, the executor an any_completion_handler reports, does not offer. So
// the operation sees the stream's executor, and at the end the handler is dispatched to its own
// executor (inline when that is the one running). Cancellation slot and allocator pass through.
class Completion {
  public:
    using executor_type = asio::any_io_executor;
    using cancellation_slot_type = asio::cancellation_slot;
    using allocator_type = Stream::Handler::allocator_type;

    Completion(Stream::Handler h, executor_type ex) : h_(std::move(h)), ex_(std::move(ex)) {}
    executor_type get_executor() const noexcept { return ex_; }
    cancellation_slot_type get_cancellation_slot() const noexcept {
        return h_.get_cancellation_slot();
    }
    allocator_type get_allocator() const noexcept { return h_.get_allocator(); }

    void operator()(boost::system::error_code ec, std::size_t n) {
        asio::dispatch(asio::append(std::move(h_), ec, n));
    }

  private:
    Stream::Handler h_;
    executor_type ex_;
};

class TcpStream final : public Stream {
  public:
    explicit TcpStream(beast::tcp_stream s) : Stream(s.get_executor()), s_(std::move(s)) {}
    void expires_after(std::chrono::steady_clock::duration d) override { s_.expires_after(d); }
    bool still_open() override { return peek_open(s_.socket()); }

  protected:
    void start_read_some(const MutableBuffers& b, Handler h) override {
        s_.async_read_some(b, Completion(std::move(h), get_executor()));
    }
    void start_write_some(const ConstBuffers& b, Handler h) override {
        s_.async_write_some(b, Completion(std::move(h), get_executor()));
    }

  private:
    beast::tcp_stream s_;
};

class TlsStream final : public Stream {
  public:
    TlsStream(beast::tcp_stream s, asio::ssl::context& ctx)
        : Stream(s.get_executor()), s_(std::move(s), ctx) {}
    beast::ssl_stream<beast::tcp_stream>& tls() { return s_; }
    void expires_after(std::chrono::steady_clock::duration d) override {
        beast::get_lowest_layer(s_).expires_after(d);
    }
    bool still_open() override { return peek_open(beast::get_lowest_layer(s_).socket()); }

  protected:
    void start_read_some(const MutableBuffers& b, Handler h) override {
        s_.async_read_some(b, Completion(std::move(h), get_executor()));
    }
    void start_write_some(const ConstBuffers& b, Handler h) override {
        s_.async_write_some(b, Completion(std::move(h), get_executor()));
    }

  private:
    beast::ssl_stream<beast::tcp_stream> s_;
};

// getaddrinfo's failures as Asio reports them (host_not_found and so on), so messages read as
// they did with asio's resolver.
boost::system::error_code lookup_error(int rc) {
    switch (rc) {
    case EAI_AGAIN:
        return asio::error::host_not_found_try_again;
    case EAI_BADFLAGS:
        return asio::error::invalid_argument;
    case EAI_FAIL:
        return asio::error::no_recovery;
    case EAI_FAMILY:
        return asio::error::address_family_not_supported;
    case EAI_MEMORY:
        return asio::error::no_memory;
    case EAI_NONAME:
#ifdef EAI_ADDRFAMILY
    case EAI_ADDRFAMILY:
#endif
#ifdef EAI_NODATA
    case EAI_NODATA:
#endif
        return asio::error::host_not_found;
    case EAI_SERVICE:
        return asio::error::service_not_found;
    case EAI_SOCKTYPE:
        return asio::error::socket_type_not_supported;
    default: // EAI_SYSTEM
        return {errno, boost::system::system_category()};
    }
}

// One lookup's meeting point between its thread and the coroutine waiting for it.
struct Pending {
    std::mutex m;
    bool waiter_gone = false; // set (under m) when the coroutine stops waiting, for any reason
    bool finished = false;
    Resolved result;
    asio::any_io_executor ex;
    asio::steady_timer* wake = nullptr; // the waiter's timer; cancelled to say "finished"
};

} // namespace

Resolved system_lookup(const std::string& host, const std::string& port) {
    addrinfo hints{}; // what asio's resolver asks by default
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_protocol = IPPROTO_TCP;
    addrinfo* list = nullptr;
    Resolved r;
    if (int rc = ::getaddrinfo(host.c_str(), port.c_str(), &hints, &list); rc != 0) {
        r.ec = lookup_error(rc);
        return r;
    }
    for (auto* ai = list; ai; ai = ai->ai_next) {
        if (ai->ai_family != AF_INET && ai->ai_family != AF_INET6)
            continue;
        tcp::endpoint ep;
        ep.resize(ai->ai_addrlen);
        std::memcpy(ep.data(), ai->ai_addr, ai->ai_addrlen);
        r.endpoints.push_back(ep);
    }
    ::freeaddrinfo(list);
    if (r.endpoints.empty())
        r.ec = asio::error::host_not_found;
    return r;
}

// getaddrinfo cannot be interrupted. Asio's resolver runs it on a private thread that the
// io_context waits for (it counts as work, and the io_context joins that thread when it is
// destroyed), so a lookup stuck on an unreachable DNS server would hold the operation, and the
// facade's run(), past any timeout. Each lookup here runs on a detached thread of its own
// instead, and wakes the waiting coroutine through its timer; when the coroutine has stopped
// waiting (timeout, cancellation, or its io_context is gone) the late answer is dropped and the
// thread touches nothing but the shared Pending.
Task<std::vector<tcp::endpoint>> resolve(const std::string& host, const std::string& port,
                                         std::chrono::milliseconds timeout, Lookup lookup) {
    boost::system::error_code ec;
    auto address = asio::ip::make_address(host, ec);
    unsigned short port_number = 0;
    auto [end, perr] = std::from_chars(port.data(), port.data() + port.size(), port_number);
    if (!ec && perr == std::errc() && end == port.data() + port.size())
        co_return std::vector<tcp::endpoint>{tcp::endpoint(address, port_number)};

    auto ex = co_await asio::this_coro::executor;
    asio::steady_timer wake(ex, timeout);
    auto pending = std::make_shared<Pending>();
    pending->ex = ex;
    pending->wake = &wake;
    struct Leave {
        std::shared_ptr<Pending> p;
        ~Leave() {
            std::lock_guard lock(p->m);
            p->waiter_gone = true;
        }
    } leave{pending}; // declared after `wake`, so it runs before the timer goes away

    std::thread([pending, lookup = std::move(lookup), host, port] {
        auto result = lookup(host, port);
        std::lock_guard lock(pending->m);
        pending->result = std::move(result);
        pending->finished = true;
        if (!pending->waiter_gone)
            asio::post(pending->ex, [pending] {
                std::lock_guard lock(pending->m);
                if (!pending->waiter_gone)
                    pending->wake->cancel();
            });
    }).detach();

    auto [wec] = co_await wake.async_wait(use_tuple);
    std::unique_lock lock(pending->m);
    if (!pending->finished) {
        lock.unlock();
        // The timer ran out, or the wait was cancelled from outside.
        network_failure("cannot resolve", host, wec ? wec : make_error_code(beast::error::timeout));
    }
    if (pending->result.ec) {
        auto rec = pending->result.ec;
        lock.unlock();
        network_failure("cannot resolve", host, rec);
    }
    co_return std::move(pending->result.endpoints);
}

// ---- Connector --------------------------------------------------------------------------------

// A CA file, client certificate or key is a regular file: OpenSSL blocks for ever opening a FIFO
// that has no writer (a ca_file in a platform manifest pointing at one hangs floe, and with it a
// cron job), and reads a device without end. stat() does not open, so it cannot block. A path
// that does not exist is left to OpenSSL, which says so.
static void require_regular_file(const std::string& path, std::string_view what) {
    struct stat st {};
    if (::stat(path.c_str(), &st) == 0 && !S_ISREG(st.st_mode))
        fail(Errc::invalid_argument, std::string(what) + " " + printable(path) +
                                         " is not a regular file (a directory, FIFO or "
                                         "device); give the path of a PEM file");
}

struct Connector::Impl {
    asio::any_io_executor ex;
    std::chrono::milliseconds connect_timeout;
    bool insecure_skip_verify;
    asio::ssl::context ssl{asio::ssl::context::tls_client};
};

Connector::Connector(asio::any_io_executor ex, const ClientOptions& opt)
    : impl_(std::make_unique<Impl>(
          Impl{std::move(ex), opt.connect_timeout, opt.insecure_skip_verify})) {
    auto& ssl = impl_->ssl;
    ssl.set_default_verify_paths();
    if (!opt.ca_file.empty()) {
        require_regular_file(opt.ca_file, "CA file");
        boost::system::error_code ec;
        ssl.load_verify_file(opt.ca_file, ec);
        if (ec)
            fail(Errc::invalid_argument,
                 "cannot load CA file " + opt.ca_file + ": " + ec.message() + " (it must be PEM)");
    }
    ssl.set_verify_mode(opt.insecure_skip_verify ? asio::ssl::verify_none : asio::ssl::verify_peer);
    if (!opt.client_cert.empty()) {
        // Mutual TLS: the registry checks who we are. The key must match the certificate, which
        // OpenSSL checks here, before any connection.
        require_regular_file(opt.client_cert, "client certificate");
        require_regular_file(opt.client_key, "client key");
        boost::system::error_code ec;
        ssl.use_certificate_chain_file(opt.client_cert, ec);
        if (ec)
            fail(Errc::invalid_argument, "cannot load client certificate " +
                                             printable(opt.client_cert) + ": " + ec.message() +
                                             " (it must be PEM)");
        ssl.use_private_key_file(opt.client_key, asio::ssl::context::pem, ec);
        if (ec)
            fail(Errc::invalid_argument,
                 "cannot load client key " + printable(opt.client_key) + ": " + ec.message() +
                     " (it must be an unencrypted PEM key matching the certificate)");
    }
}

Connector::~Connector() = default;

namespace {

Task<beast::tcp_stream> open_tcp(const asio::any_io_executor& ex, const Url& url,
                                 std::chrono::milliseconds timeout) {
    auto endpoints = co_await resolve(url.host, url.port, timeout);
    beast::tcp_stream stream(ex);
    stream.expires_after(timeout);
    auto [cec, ep] = co_await stream.async_connect(endpoints, use_tuple);
    if (cec)
        network_failure("cannot connect to", url.host_header(), cec);
    stream.socket().set_option(tcp::no_delay(true));
    co_return stream;
}

void set_server_name(TlsStream& tls, const std::string& host) {
    boost::system::error_code ip_ec;
    asio::ip::make_address(host, ip_ec);
    if (ip_ec) // SNI is for names only
        SSL_set_tlsext_host_name(tls.tls().native_handle(), host.c_str());
}

} // namespace

Task<std::unique_ptr<Stream>> Connector::connect(const Url& url) {
    auto& I = *impl_;
    const auto host_port = url.host_header();
    auto stream = co_await open_tcp(I.ex, url, I.connect_timeout);
    if (!url.is_https())
        co_return std::make_unique<TcpStream>(std::move(stream));

    auto tls = std::make_unique<TlsStream>(std::move(stream), I.ssl);
    set_server_name(*tls, url.host);
    if (!I.insecure_skip_verify)
        tls->tls().set_verify_callback(asio::ssl::host_name_verification(url.host));
    tls->expires_after(I.connect_timeout);
    auto [hec] = co_await tls->tls().async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (hec)
        network_failure("TLS handshake with", host_port, hec, true);
    co_return tls;
}

Task<TlsFacts> Connector::inspect_tls(const Url& url) {
    auto& I = *impl_;
    TlsFacts facts;
    auto stream = co_await open_tcp(I.ex, url, I.connect_timeout);
    TlsStream tls(std::move(stream), I.ssl);
    set_server_name(tls, url.host);
    // Verified whatever the client's own setting, so the facts are there to report.
    tls.tls().set_verify_mode(asio::ssl::verify_peer);
    tls.tls().set_verify_callback(recording_verifier(facts, url.host));
    tls.expires_after(I.connect_timeout);
    auto [hec] = co_await tls.tls().async_handshake(asio::ssl::stream_base::client, use_tuple);
    if (hec)
        facts.handshake_error = hec == beast::error::timeout ? "timed out" : hec.message();
    facts.handshake_done = !hec;
    co_return facts;
}

void network_failure(const std::string& what, const std::string& where,
                     const boost::system::error_code& ec, bool handshake) {
    std::string why = ec == beast::error::timeout ? "timed out" : ec.message();
    Diagnostics diag;
    diag.tls = handshake;
    if (ec.category() == asio::error::get_ssl_category() ||
        ec.category() == asio::ssl::error::get_stream_category()) {
        diag.tls = true;
        why = "TLS error: " + ec.message();
        if (ec.message().find("certificate verify failed") != std::string::npos)
            why += " (pass --ca-file with the registry's CA, or fix the server certificate)";
    }
    fail(Errc::network, what + " " + where + ": " + why, diag);
}

} // namespace floe::http
