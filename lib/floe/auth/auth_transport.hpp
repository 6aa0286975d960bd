// The authentication layer of the transport stack (http/transport.hpp): signs requests to the
// registry's own origin and answers its 401 challenges through the Authenticator, once per call.
// A request that leaves the origin (a redirect, an upload Location on another host) carries no
// credentials, and a 401 from another origin is passed up unanswered.
#pragma once

#include "floe/auth/authenticator.hpp"
#include "floe/http/transport.hpp"

#include <functional>
#include <string>

namespace floe::auth {

class AuthTransport final : public http::Transport {
  public:
    // `origin`: the registry's own origin ("https://host:port"), once its scheme is known.
    AuthTransport(http::Transport& inner, Authenticator& auth, std::string registry,
                  std::function<std::string()> origin)
        : inner_(inner), auth_(auth), registry_(std::move(registry)), origin_(std::move(origin)) {}
    Task<http::Response> send(http::Call& call) override;

  private:
    http::Transport& inner_;
    Authenticator& auth_;
    std::string registry_;
    std::function<std::string()> origin_;
};

} // namespace floe::auth
