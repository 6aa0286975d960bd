// One registry host: finds its scheme (https, or plain http for loopback or when asked), owns its
// transport stack (HTTP client -> authentication -> retry, observed at the wire) and turns error
// answers into floe::Error.
#pragma once

#include "floe/auth/auth_transport.hpp"
#include "floe/auth/authenticator.hpp"
#include "floe/core/error.hpp"
#include "floe/http/circuit_breaker.hpp"
#include "floe/http/client.hpp"
#include "floe/http/retry.hpp"
#include "floe/http/transport.hpp"

#include <memory>
#include <string>

namespace floe::registry {

struct RegistryOptions {
    bool plain_http = false; // use http:// even for a non-loopback host
    http::RetryPolicy retry;
    http::RequestObserver observer;
    std::shared_ptr<auth::Keychain> keychain;
    // Shared by every Registry of the host in the process; null: none (never opens).
    std::shared_ptr<http::CircuitBreaker> breaker;
};

class Registry {
  public:
    Registry(http::Client& client, std::string host, RegistryOptions options = {});

    const std::string& host() const { return host_; }

    // Sends a call through the stack. Every answer comes back (401 after a failed challenge
    // included); network failures throw once the retry budget is spent.
    Task<http::Response> send(http::Call& call);

    // Sends a call once, without credentials and without retry (the scheme chosen first):
    // what an anonymous client meets. For health checks and the credentials check.
    Task<http::Response> send_anonymously(http::Call& call);

    // The URL of an API path, once the scheme is known (inside a Call's `make`).
    http::Url endpoint(std::string_view target) const;

    // A small document (a manifest, a tag list, a referrers index) whose request and body are
    // retried together under one budget: a body cut mid-way is asked for again. `tolerated`
    // (e.g. 404) comes back with an empty body instead of failing.
    struct Document {
        int status = 0;
        http::Fields headers;
        http::Url url;
        std::string body;
    };
    Task<Document> fetch_document(http::Call& call, std::string what, std::size_t cap,
                                  int tolerated = 0);

    // Returns when the answer has one of the expected statuses (0 stands for none); otherwise
    // reads its (small) error body and throws the Error it stands for, prefixed by `what`.
    static Task<void> expect(http::Response& response, std::string what, int expected, int also = 0,
                             int or_else = 0);

    // GET /v2/ with the keychain's credentials (answering the challenge, a token fetched if
    // asked): returns when the registry accepts them, throws Errc::unauthorized when it does not.
    // False when the registry did not ask for any (so they were not checked, nor sent).
    Task<bool> check_credentials();

    const http::RetryPolicy& retry_policy() const { return options_.retry; }
    const std::string& scheme() const { return scheme_; }

  private:
    Task<void> choose_scheme();

    http::Client& client_;
    std::string host_;
    RegistryOptions options_;
    std::string scheme_; // decided on first use
    http::HttpTransport wire_;
    auth::Authenticator auth_;
    auth::AuthTransport signed_;
    http::BreakerTransport guarded_; // each attempt is one verdict; open: no connection at all
    http::RetryTransport retrying_;
    // The scheme probes, past authentication but counted by the same breaker: a stopped
    // loopback registry opens the circuit like any other.
    http::BreakerTransport probing_;
};

} // namespace floe::registry
