// The transport stack (DESIGN.md, "Requests: one transport stack"): every request to a registry
// passes through layered wrappers, each with one job:
//
//   RetryTransport   the only retry layer: one classifier, one policy, one budget per call
//   AuthTransport    Authorization for the registry's own origin; answers its 401 challenges
//                    (auth/auth_transport.hpp)
//   HttpTransport    the HTTP client (pool, TLS, timeouts, redirects, rate budget), observed
//
// The observer sits at the bottom so that it sees every exchange on the wire (each attempt,
// each 401 round, each token fetch) with the attempt number the retry layer stamped on the call;
// the -v log, the registry benchmark and metrics are its consumers.
#pragma once

#include "floe/core/request_event.hpp"
#include "floe/http/client.hpp"
#include "floe/http/retry.hpp"

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace floe::http {

// One request as the layers see it.
struct Call {
    std::function<Request()> make;   // builds the request again for each attempt
    std::vector<std::string> scopes; // what a token must grant
    // Whether the retry layer may send it again by itself. Upload steps are not: the upload
    // machine asks the registry where the upload stands instead (and charges its own budget).
    bool retry = true;
    RetryBudget* budget = nullptr; // shared with a transfer's other requests; null: own
    int attempt = 1;               // stamped by the retry layer, read by the observer
};

using floe::RequestEvent;
using floe::RequestObserver;

class Transport {
  public:
    virtual ~Transport() = default;
    // The answer to the call, whatever its status; network failures throw Error(network).
    virtual Task<Response> send(Call& call) = 0;
};

class HttpTransport final : public Transport {
  public:
    HttpTransport(Client& client, RequestObserver observer)
        : client_(client), observer_(std::move(observer)) {}
    Task<Response> send(Call& call) override;

  private:
    Client& client_;
    RequestObserver observer_;
};

class RetryTransport final : public Transport {
  public:
    RetryTransport(Transport& inner, RetryPolicy policy)
        : inner_(inner), policy_(std::move(policy)) {}
    Task<Response> send(Call& call) override;
    const RetryPolicy& policy() const { return policy_; }

  private:
    Transport& inner_;
    RetryPolicy policy_;
};

// Throws Error(cancelled) when the calling operation was cancelled (Ctrl-C, a deadline, a
// sibling that failed for good), so that a retry loop stops instead of waiting again.
Task<void> throw_if_cancelled();

} // namespace floe::http
