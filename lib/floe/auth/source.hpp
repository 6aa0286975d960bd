// What every credential source gets from the client that owns it: where to run (credential
// helper processes, requests to cloud token services and the Kubernetes API), where its requests
// are logged (-v shows them, redacted like every other request), and where a source that failed
// says so. A source that cannot answer warns once and lets the chain go on; it never prints a
// secret (they pass through remember_secret first).
#pragma once

#include "floe/core/request_event.hpp"

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <string>

namespace floe::auth {

struct SourceContext {
    boost::asio::any_io_executor executor;
    RequestObserver observer;                     // every request a source sends
    std::function<void(const std::string&)> warn; // one printable line; may be empty
    std::chrono::seconds timeout{10};             // a helper process or token service, each call

    void warning(const std::string& line) const {
        if (warn)
            warn(line);
    }
};

} // namespace floe::auth
