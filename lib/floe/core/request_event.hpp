// Structured facts about one HTTP exchange with a registry, for whoever observes the transport
// stack: the -v log, metrics, the registry benchmark. Plain values; never holds credentials.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

namespace floe {

struct RequestEvent {
    std::string method;
    std::string url; // redacted: no credentials, no signed query strings
    int status = 0;  // 0: no answer (`error` says why)
    std::string error;
    std::uint64_t request_bytes = 0;  // body sent
    std::uint64_t response_bytes = 0; // body announced (Content-Length), when known
    std::chrono::microseconds time_to_first_byte{0};
    bool reused_connection = false;
    int attempt = 1; // 1 for the first try, 2 for the first retry, ...
};

using RequestObserver = std::function<void(const RequestEvent&)>;

} // namespace floe
