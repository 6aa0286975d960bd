// Runs docker-credential-NAME without blocking the event loop: the child's stdin, stdout and
// stderr are pipes read and written through Asio, a timer bounds the whole run, and the child is
// always reaped (killed first when it overstays or the caller gives up).
#include "floe/auth/credential_helper.hpp"

#include "floe/core/error.hpp"
#include "floe/core/fd.hpp"
#include "floe/core/json_writer.hpp"
#include "floe/core/printable.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <simdjson.h>

#include <array>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace floe::auth {

std::string helper_label(const std::string& name) {
    return "credential helper docker-credential-" + printable(name);
}

namespace {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using asio::posix::stream_descriptor;
using Clock = std::chrono::steady_clock;

constexpr std::size_t max_answer = 1024 * 1024; // stdout: a JSON document with one credential
constexpr std::size_t max_errors = 64 * 1024;   // stderr kept to recognise "not found"

std::string program(const std::string& name) {
    return "docker-credential-" + name;
}

// ---- finding and starting the helper ---------------------------------------------------------

// The helper's path on PATH. Relative PATH entries are skipped: a credential program is never
// taken from whatever the current directory holds.
std::string find_on_path(const std::string& name) {
    const char* env = std::getenv("PATH");
    std::string_view path = env ? env : "/usr/local/bin:/usr/bin:/bin";
    while (true) {
        auto colon = path.find(':');
        auto dir = path.substr(0, colon);
        if (!dir.empty() && dir.front() == '/') {
            auto candidate = std::string(dir) + "/" + program(name);
            struct stat st {};
            if (::stat(candidate.c_str(), &st) == 0 && S_ISREG(st.st_mode) &&
                ::access(candidate.c_str(), X_OK) == 0)
                return candidate;
        }
        if (colon == std::string_view::npos)
            break;
        path.remove_prefix(colon + 1);
    }
    fail(Errc::not_found, helper_label(name) + " is not installed (not found on PATH)");
}

struct Pipe {
    Fd read, write;
};

Pipe make_pipe(const std::string& name) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0)
        fail(Errc::io, helper_label(name) + " could not be started: " + std::strerror(errno));
    return {Fd(fds[0]), Fd(fds[1])};
}

// A started helper; the destructor kills and reaps one that is still running, so no path out of
// a run (error, timeout, cancellation) leaves a zombie or a stray process.
class Child {
  public:
    explicit Child(pid_t pid) : pid_(pid) {}
    Child(const Child&) = delete;
    Child& operator=(const Child&) = delete;
    ~Child() {
        if (!reaped_) {
            ::kill(pid_, SIGKILL);
            wait(0);
        }
    }
    // The wait status once the child has exited (without blocking), else nullopt.
    std::optional<int> try_reap() { return wait(WNOHANG); }
    void kill_and_reap() {
        ::kill(pid_, SIGKILL);
        wait(0);
    }

  private:
    std::optional<int> wait(int flags) {
        if (reaped_)
            return status_;
        pid_t r;
        do {
            r = ::waitpid(pid_, &status_, flags);
        } while (r < 0 && errno == EINTR);
        if (r == 0)
            return std::nullopt;
        reaped_ = true; // reaped, or gone already (ECHILD): either way nothing left to wait for
        if (r < 0)
            status_ = 0;
        return status_;
    }

    pid_t pid_;
    int status_ = 0;
    bool reaped_ = false;
};

struct Started {
    std::unique_ptr<Child> child;
    Fd in, out, err; // our ends
};

Started spawn(const std::string& name, const std::string& path, const char* verb) {
    auto in = make_pipe(name), out = make_pipe(name), err = make_pipe(name);
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.read.get(), 0);
    posix_spawn_file_actions_adddup2(&actions, out.write.get(), 1);
    posix_spawn_file_actions_adddup2(&actions, err.write.get(), 2);
    // The helper starts with no blocked signals and a default SIGPIPE, whatever this process
    // does with them.
    posix_spawnattr_t attr;
    posix_spawnattr_init(&attr);
    sigset_t none, defaults;
    sigemptyset(&none);
    sigemptyset(&defaults);
    sigaddset(&defaults, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &none);
    posix_spawnattr_setsigdefault(&attr, &defaults);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    std::string arg0 = path, arg1 = verb;
    char* argv[] = {arg0.data(), arg1.data(), nullptr};
    pid_t pid = 0;
    int rc = ::posix_spawn(&pid, path.c_str(), &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    if (rc != 0)
        fail(Errc::io, helper_label(name) + " could not be started: " + std::strerror(rc));
    return {std::make_unique<Child>(pid), std::move(in.write), std::move(out.read),
            std::move(err.read)};
}

// ---- talking to it -----------------------------------------------------------------------------

// write(2) on a pipe whose reader may be gone: EPIPE must not become a SIGPIPE that kills this
// process, so the signal is blocked on this thread for the call and a pending one consumed.
ssize_t write_without_sigpipe(int fd, const char* data, std::size_t size) {
    sigset_t pipe_only, old;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    sigset_t pending;
    sigpending(&pending);
    bool was_pending = sigismember(&pending, SIGPIPE);
    ssize_t n = ::write(fd, data, size);
    int saved = errno;
    if (n < 0 && saved == EPIPE && !was_pending) {
        timespec zero{};
        while (sigtimedwait(&pipe_only, nullptr, &zero) < 0 && errno == EINTR) {
        }
    }
    pthread_sigmask(SIG_SETMASK, &old, nullptr);
    errno = saved;
    return n;
}

Task<void> write_input(stream_descriptor& in, std::string input, std::string name) {
    in.non_blocking(true);
    std::size_t done = 0;
    while (done < input.size()) {
        auto n =
            write_without_sigpipe(in.native_handle(), input.data() + done, input.size() - done);
        if (n >= 0) {
            done += static_cast<std::size_t>(n);
        } else if (errno == EAGAIN) {
            co_await in.async_wait(stream_descriptor::wait_write, asio::use_awaitable);
        } else if (errno == EPIPE) {
            break; // it stopped reading: its exit status and answer tell the rest
        } else if (errno != EINTR) {
            fail(Errc::io,
                 helper_label(name) + ": cannot write its input: " + std::strerror(errno));
        }
    }
    in.close(); // end of input: helpers read stdin to its end
}

Task<std::string> read_output(stream_descriptor& from, std::size_t cap, bool strict,
                              std::string name) {
    std::string out;
    std::array<char, 16 * 1024> buf;
    while (true) {
        auto [ec, n] =
            co_await from.async_read_some(asio::buffer(buf), asio::as_tuple(asio::use_awaitable));
        if (ec == asio::error::eof)
            break;
        if (ec == asio::error::operation_aborted)
            throw boost::system::system_error(ec); // cancelled: not the helper's fault
        if (ec)
            fail(Errc::io, helper_label(name) + ": cannot read its output: " + ec.message());
        if (out.size() + n > cap) {
            if (strict)
                fail(Errc::too_large, helper_label(name) + " answered more than " +
                                          std::to_string(cap / 1024) + " KiB");
            out.append(buf.data(), cap - out.size()); // keep draining so it never blocks on us
            continue;
        }
        out.append(buf.data(), n);
    }
    co_return out;
}

struct Outcome {
    int status = 0; // waitpid status
    std::string out, err;
};

// Polls for the exit (no SIGCHLD handler: that is process-wide state a library must not take)
// until the deadline; nullopt when it is still running then.
Task<std::optional<int>> wait_exit(Child& child, Clock::time_point deadline) {
    asio::steady_timer timer(co_await asio::this_coro::executor);
    auto delay = std::chrono::milliseconds(1);
    while (true) {
        if (auto status = child.try_reap())
            co_return status;
        auto now = Clock::now();
        if (now >= deadline)
            co_return std::nullopt;
        timer.expires_at(std::min(now + delay, deadline));
        co_await timer.async_wait(asio::use_awaitable);
        delay = std::min(delay * 2, std::chrono::milliseconds(50));
    }
}

[[noreturn]] void timed_out(const SourceContext& context, const std::string& name) {
    fail(Errc::network, helper_label(name) + " did not answer within " +
                            std::to_string(context.timeout.count()) + " s (stopped)");
}

Task<Outcome> run(const SourceContext& context, const std::string& name, const char* verb,
                  std::string input) {
    if (!is_valid_helper_name(name))
        fail(Errc::invalid_argument,
             helper_label(name) +
                 ": not a valid helper name (letters, digits, '.', '_' and '-' only)");
    auto path = find_on_path(name);
    auto exec = co_await asio::this_coro::executor;
    auto started = spawn(name, path, verb);
    auto deadline = Clock::now() + context.timeout;
    stream_descriptor in(exec, started.in.release());
    stream_descriptor out(exec, started.out.release());
    stream_descriptor err(exec, started.err.release());
    asio::steady_timer timer(exec, deadline);
    auto io = co_await ((write_input(in, std::move(input), name) &&
                         read_output(out, max_answer, true, name) &&
                         read_output(err, max_errors, false, name)) ||
                        timer.async_wait(asio::use_awaitable));
    if (io.index() == 1) {
        started.child->kill_and_reap();
        timed_out(context, name);
    }
    auto status = co_await wait_exit(*started.child, deadline);
    if (!status) {
        started.child->kill_and_reap();
        timed_out(context, name);
    }
    auto& [answer, errors] = std::get<0>(io);
    co_return Outcome{*status, std::move(answer), std::move(errors)};
}

// ---- reading its answers -----------------------------------------------------------------------

bool succeeded(const Outcome& o) {
    return WIFEXITED(o.status) && WEXITSTATUS(o.status) == 0;
}

// Helpers say "credentials not found in native keychain" (docker-credential-helpers' message).
bool says_not_found(const Outcome& o) {
    return o.out.find("credentials not found") != std::string::npos ||
           o.err.find("credentials not found") != std::string::npos;
}

std::string how_it_ended(const Outcome& o) {
    if (WIFSIGNALED(o.status))
        return "was killed by signal " + std::to_string(WTERMSIG(o.status));
    return "failed (exit status " + std::to_string(WEXITSTATUS(o.status)) + ")";
}

[[noreturn]] void failed(const std::string& name, const char* verb, const Outcome& o) {
    // What it said on stderr is not shown: a helper may echo what it holds, and floe cannot
    // know every secret it might print. Running it by hand shows the message.
    fail(Errc::io, helper_label(name) + " " + verb + " " + how_it_ended(o) + "; run '" +
                       printable(program(name)) + " " + verb + "' by hand to see its message");
}

std::string string_field(simdjson::dom::object obj, std::string_view key) {
    std::string_view v;
    if (obj[key].get(v) != simdjson::SUCCESS)
        return {};
    return std::string(v);
}

std::optional<Credentials> read_get_answer(const std::string& name, const std::string& answer) {
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    if (parser.parse(answer).get(obj) != simdjson::SUCCESS)
        fail(Errc::protocol,
             helper_label(name) + " get answered something that is not a JSON object");
    auto username = string_field(obj, "Username");
    auto secret = string_field(obj, "Secret");
    remember_secret(secret);
    if (secret.empty())
        return std::nullopt;
    Credentials c;
    if (username == "<token>") {
        c.identity_token = std::move(secret);
    } else {
        c.username = std::move(username);
        c.password = std::move(secret);
    }
    c.source = helper_label(name);
    return c;
}

std::string store_document(const std::string& name, const std::string& server_url,
                           const Credentials& c) {
    if (!c.registry_token.empty())
        fail(Errc::unsupported,
             helper_label(name) +
                 " cannot hold a registry token (the protocol has no place for one)");
    bool token = !c.identity_token.empty();
    json::Writer w;
    w.begin_object()
        .key("ServerURL")
        .value(server_url)
        .key("Username")
        .value(token ? std::string("<token>") : c.username)
        .key("Secret")
        .value(token ? c.identity_token : c.password)
        .end_object();
    return w.take();
}

} // namespace

bool is_valid_helper_name(std::string_view name) {
    if (name.empty() || name.size() > 128)
        return false;
    for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-')
            return false;
    // "." and ".." are made of allowed characters but name directories.
    return name != "." && name != "..";
}

Task<std::optional<Credentials>> helper_get(const SourceContext& context, const std::string& name,
                                            const std::string& server_url) {
    auto o = co_await run(context, name, "get", server_url);
    if (!succeeded(o)) {
        if (says_not_found(o))
            co_return std::nullopt;
        failed(name, "get", o);
    }
    co_return read_get_answer(name, o.out);
}

Task<void> helper_store(const SourceContext& context, const std::string& name,
                        const std::string& server_url, const Credentials& credentials) {
    remember_secret(credentials.password);
    remember_secret(credentials.identity_token);
    auto o = co_await run(context, name, "store", store_document(name, server_url, credentials));
    if (!succeeded(o))
        failed(name, "store", o);
}

Task<bool> helper_erase(const SourceContext& context, const std::string& name,
                        const std::string& server_url) {
    auto o = co_await run(context, name, "erase", server_url);
    if (succeeded(o))
        co_return true;
    if (says_not_found(o))
        co_return false;
    failed(name, "erase", o);
}

} // namespace floe::auth
