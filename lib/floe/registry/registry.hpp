// One registry host: finds its scheme (https, or plain http for loopback or when asked), signs
// requests through the Authenticator, retries what may be retried, and turns error answers into
// floe::Error.
#pragma once

#include "floe/auth/authenticator.hpp"
#include "floe/core/error.hpp"
#include "floe/http/client.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace floe::registry {

struct RegistryOptions {
    bool plain_http = false; // use http:// even for a non-loopback host
    int max_attempts = 4;    // for idempotent requests on network errors and 429/5xx
};

class Registry {
  public:
    Registry(http::Client& client, auth::Authenticator& auth, std::string host,
             RegistryOptions options = {});

    const std::string& host() const { return host_; }

    // Sends a request built by `make` (called again for each attempt) with authorization for
    // `scopes`. Returns every answer except 401 after a failed retry, which throws.
    // `idempotent` requests are retried on network errors and retryable statuses.
    Task<http::Response> send(std::function<http::Request()> make,
                              const std::vector<std::string>& scopes, bool idempotent);

    // The URL of an API path, once the scheme is known (inside `make`).
    http::Url endpoint(std::string_view target) const;

    // The Error an unexpected answer stands for, after reading its (small) error body.
    static Task<Error> error_for(http::Response& response, std::string what);

    http::Client& client() { return client_; }

  private:
    Task<void> choose_scheme();

    http::Client& client_;
    auth::Authenticator& auth_;
    std::string host_;
    RegistryOptions options_;
    std::string scheme_; // decided on first use
};

} // namespace floe::registry
