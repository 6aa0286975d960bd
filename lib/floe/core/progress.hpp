// Progress of a transfer, as plain values handed to a callback. When no callback is set the
// library does not build events at all.
#pragma once

#include "floe/core/descriptor.hpp"

#include <cstdint>
#include <functional>
#include <string>

namespace floe {

struct ProgressEvent {
    enum class Kind {
        // per blob
        queued,   // known to be part of the operation
        started,  // bytes about to flow
        bytes,    // `bytes` moved so far for this blob
        retried,  // a request failed and is tried again (`detail` says why)
        resumed,  // continuing from byte `bytes` instead of starting over
        skipped,  // the destination already has it
        mounted,  // the registry linked it from another repository
        verified, // size and digest checked at the destination
        done,
        failed, // `detail` says why
        // per operation: totals and rate, sent after each change
        operation,
        // per registry (no blob; `detail` says which and what)
        circuit,  // a circuit breaker changed state: "HOST: closed -> open"
        failover, // a registry was given up for its mirror (the same line as on stderr)
    };
    Kind kind = Kind::operation;
    Descriptor blob;         // per-blob events
    std::uint64_t bytes = 0; // per-blob: bytes of this blob so far (or the resume offset)
    std::string detail;      // retried, failed
    // operation totals
    std::uint64_t total_bytes = 0; // of all blobs queued
    std::uint64_t done_bytes = 0;  // moved or skipped
    std::uint64_t total_blobs = 0;
    std::uint64_t done_blobs = 0;
    std::uint64_t in_flight = 0; // blobs between started and done/failed
    double bytes_per_second = 0; // moved bytes over elapsed time
};

using ProgressCallback = std::function<void(const ProgressEvent&)>;

std::string_view to_string(ProgressEvent::Kind kind);

} // namespace floe
