#include "floe/auth/pull_secret_keychain.hpp"

#include "floe/core/base64.hpp"
#include "floe/core/error.hpp"
#include "floe/core/printable.hpp"
#include "floe/http/client.hpp"
#include "floe/http/transport.hpp"
#include "floe/target/flight.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fcntl.h>
#include <filesystem>
#include <unistd.h>

namespace floe::auth {
namespace {

namespace fs = std::filesystem;

constexpr const char* default_service_account_dir = "/var/run/secrets/kubernetes.io/serviceaccount";

std::string env(const char* name) {
    const char* v = std::getenv(name);
    return v ? v : "";
}

fs::path service_account_dir() {
    auto dir = env("FLOE_K8S_SERVICEACCOUNT_DIR");
    return dir.empty() ? fs::path(default_service_account_dir) : fs::path(dir);
}

std::string trim(std::string s) {
    auto space = [](char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
    while (!s.empty() && space(s.back()))
        s.pop_back();
    std::size_t start = 0;
    while (start < s.size() && space(s[start]))
        ++start;
    return s.substr(start);
}

// A small file read whole (a pipe such as `<(kubectl get secret ...)` too), refusing more than
// `cap` bytes. Errors name `who` (the source) and the file, never its content.
std::string read_small_file(const fs::path& path, std::size_t cap, const std::string& who) {
    auto where = who + ": " + printable(path.string());
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int err = errno;
        fail(err == ENOENT ? Errc::not_found : Errc::io,
             where + (err == ENOENT ? ": no such file" : std::string(": ") + std::strerror(err)));
    }
    std::string out;
    char buf[16 * 1024];
    while (true) {
        auto n = ::read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int err = errno;
            ::close(fd);
            fail(Errc::io, where + ": " + std::strerror(err));
        }
        if (n == 0)
            break;
        out.append(buf, static_cast<std::size_t>(n));
        if (out.size() > cap) {
            ::close(fd);
            fail(Errc::too_large, where + ": larger than " + std::to_string(cap / 1024) +
                                      " KiB, which no such file is");
        }
    }
    ::close(fd);
    return out;
}

// Every secret in the parsed file, before anything could print one.
void remember_all(const DockerConfig& config) {
    for (auto& [key, c] : config.auths) {
        remember_secret(c.password);
        remember_secret(c.identity_token);
        remember_secret(c.registry_token);
        if (!c.password.empty())
            remember_secret(base64_encode(c.username + ":" + c.password));
    }
}

// What the API server's refusals mean for the person setting up the pod (its Status body is
// not quoted: it is remote content).
[[noreturn]] void fail_for_status(int status, const std::string& who, const std::string& ns,
                                  const std::string& name, const fs::path& dir) {
    auto http = " (HTTP " + std::to_string(status) + ")";
    switch (status) {
    case 401:
        fail(Errc::unauthorized, who + ": the API server refused the service account token in " +
                                     printable((dir / "token").string()) +
                                     ": it is invalid or expired" + http);
    case 403:
        fail(Errc::denied, who + ": the service account may not read secret " + ns + "/" + name +
                               ": grant it get on secrets in namespace " + ns + http);
    case 404:
        fail(Errc::not_found, who + ": there is no secret " + name + " in namespace " + ns + http);
    default:
        fail(Errc::registry,
             who + ": the Kubernetes API server answered HTTP " + std::to_string(status));
    }
}

std::string describe(const PullSecretSpec& spec) {
    if (!spec.in_cluster)
        return "pull secret " + printable(spec.path);
    return "pull secret k8s:" + (spec.namespace_.empty() ? "" : spec.namespace_ + "/") + spec.name;
}

} // namespace

PullSecretKeychain::PullSecretKeychain(SourceContext context, std::string spec)
    : context_(std::move(context)), spec_(std::move(spec)), parsed_(parse_pull_secret_spec(spec_)),
      description_(describe(parsed_)) {}

PullSecretKeychain::~PullSecretKeychain() = default;

Task<std::optional<Credentials>> PullSecretKeychain::resolve(std::string_view registry,
                                                             std::string_view repository) {
    // Copies: the views may not outlive the awaits.
    std::string host(registry), repo(repository);
    while (!loaded_) {
        if (failed_)
            throw *failed_;
        if (loading_) { // another ask is reading it: wait, then look again
            auto flight = loading_;
            co_await flight->wait();
            continue;
        }
        loading_ = std::make_shared<Flight>();
        struct Landing {
            std::shared_ptr<Flight>& slot;
            ~Landing() {
                auto flight = std::move(slot);
                flight->land();
            }
        } landing{loading_};
        co_await load();
    }
    auto found = loaded_->lookup(host, repo);
    if (found)
        found->source = description_;
    co_return found;
}

Task<void> PullSecretKeychain::load() {
    try {
        // Not a conditional expression: GCC 12 miscompiles co_await in one.
        std::string text;
        if (parsed_.in_cluster)
            text = co_await fetch_from_cluster();
        else
            text = read_small_file(parsed_.path, max_pull_secret_size, description_);
        auto config = parse_pull_secret(text, description_);
        remember_all(config);
        loaded_ = std::move(config);
    } catch (const Error& e) {
        if (e.errc() != Errc::cancelled)
            failed_ = e; // a broken secret stays broken for this process: no second request
        throw;
    }
}

Task<std::string> PullSecretKeychain::fetch_from_cluster() {
    auto dir = service_account_dir();
    auto host = env("KUBERNETES_SERVICE_HOST");
    if (host.empty())
        fail(Errc::invalid_argument,
             description_ + ": KUBERNETES_SERVICE_HOST is not set (k8s: works inside a pod; "
                            "elsewhere give the Secret as a file)");
    auto token = trim(read_small_file(dir / "token", 64 * 1024, description_));
    remember_secret(token);
    if (token.empty())
        fail(Errc::invalid_argument, description_ + ": the service account token file " +
                                         printable((dir / "token").string()) + " is empty");
    if (parsed_.namespace_.empty()) {
        auto ns = trim(read_small_file(dir / "namespace", 1024, description_));
        if (!is_dns1123_label(ns))
            fail(Errc::invalid_argument, description_ + ": " +
                                             printable((dir / "namespace").string()) +
                                             " does not hold a namespace name");
        parsed_.namespace_ = ns;
        description_ = describe(parsed_);
    }
    std::string url;
    try {
        url =
            k8s_secret_url(host, env("KUBERNETES_SERVICE_PORT"), parsed_.namespace_, parsed_.name);
    } catch (const Error& e) {
        fail(e.errc(), description_ + ": " + e.what());
    }

    http::ClientOptions options;
    if (std::error_code ec; fs::exists(dir / "ca.crt", ec))
        options.ca_file = (dir / "ca.crt").string(); // the cluster's CA signs the API server
    options.connect_timeout = context_.timeout;
    options.io_timeout = context_.timeout;
    // Declared before the response, so that it outlives it.
    http::Client client(context_.executor, options);
    http::HttpTransport wire(client, context_.observer);
    http::Call call{[&] {
                        http::Request r;
                        r.method = "GET";
                        r.url = http::Url::parse(url);
                        r.headers.set("Authorization", "Bearer " + token);
                        r.headers.set("Accept", "application/json");
                        r.max_body = max_pull_secret_size;
                        r.follow_redirects = false; // the token goes to the API server only
                        return r;
                    },
                    {}};
    call.retry = false;
    std::optional<Error> lost;
    int status = 0;
    std::string body;
    try {
        auto resp = co_await wire.send(call);
        status = resp.status;
        if (status == 200)
            body = co_await resp.read_all(max_pull_secret_size);
    } catch (const Error& e) {
        if (e.errc() == Errc::cancelled)
            throw;
        lost = e;
    }
    if (lost && lost->diagnostics().tls) // the client's hint (--ca-file) is not the fix here
        fail(Errc::network,
             description_ +
                 ": the TLS handshake with the Kubernetes API server failed; it must "
                 "present a certificate signed by " +
                 (options.ca_file.empty() ? std::string("a CA the system trusts")
                                          : "the CA in " + printable(options.ca_file)),
             lost->diagnostics());
    if (lost)
        fail(lost->errc(),
             description_ + ": reading the Secret from the Kubernetes API server: " + lost->what(),
             lost->diagnostics());
    if (status != 200)
        fail_for_status(status, description_, parsed_.namespace_, parsed_.name, dir);
    co_return body;
}

} // namespace floe::auth
