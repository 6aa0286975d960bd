#include "floe/auth/auth_transport.hpp"

namespace floe::auth {

Task<http::Response> AuthTransport::send(http::Call& call) {
    auto origin = origin_();
    std::optional<std::string> authorization;
    bool answered_challenge = false;
    bool streamed = false; // the body was read from a stream, which cannot be replayed here
    while (true) {
        auto make = call.make;
        http::Call signed_call = call;
        signed_call.make = [&]() {
            auto r = make();
            streamed = r.stream != nullptr;
            // Credentials belong to the registry's origin and go nowhere else (a Location on
            // another host, object storage behind a redirect).
            if (!authorization && r.url.origin() == origin)
                authorization = auth_.cached(registry_, r.url, call.scopes);
            if (authorization && r.url.origin() == origin)
                r.headers.set("Authorization", *authorization);
            return r;
        };
        auto resp = co_await inner_.send(signed_call);
        if (resp.status != 401 || answered_challenge || resp.url.origin() != origin)
            co_return resp;
        answered_challenge = true;
        auto next =
            co_await auth_.on_unauthorized(registry_, resp.url, resp, call.scopes, authorization);
        if (!next)
            co_return resp;
        co_await resp.discard();
        if (streamed) // the caller continues from where the registry stands, signed anew
            fail(Errc::network, "the registry asked for fresh credentials in the middle of an "
                                "upload; continuing with them");
        authorization = std::move(next);
    }
}

} // namespace floe::auth
