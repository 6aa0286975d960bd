// Error model of floe: one error category, a small set of conditions that a caller (and the CLI's
// exit code) can act on, and diagnostics that say what happened without leaking credentials.
#pragma once

#include <string>
#include <system_error>
#include <vector>

namespace floe {

// What went wrong, as something a caller can act on. The CLI maps each to its own exit code.
enum class Errc {
    ok = 0,
    invalid_argument,    // a bad flag, option or value
    invalid_reference,   // a reference that does not parse
    not_found,           // tag, digest, repository or file does not exist
    unauthorized,        // credentials missing or refused
    denied,              // authenticated, but not allowed
    verification_failed, // size or digest mismatch, content that fails a safety check
    network,             // could not connect, TLS failure, timeout, connection lost
    protocol,            // the registry answered something the spec does not allow
    registry,            // the registry reported an error (5xx, unexpected status)
    invalid_artifact,    // input that is not a valid artifact (bad compiled_artifacts.json, ...)
    unsafe_path,         // a file name that would escape the output directory
    io,                  // local file system error
    conflict,            // immutable tag already points elsewhere, output exists
    too_large,           // a body over its cap
    unsupported,         // a media type or feature floe does not handle
    cancelled,
};

const std::error_category& error_category() noexcept;
std::error_code make_error_code(Errc e) noexcept;

// Extra facts about a failure: the HTTP status and the registry's error codes from the
// distribution spec (e.g. MANIFEST_UNKNOWN), and the URL with credentials stripped.
struct Diagnostics {
    int http_status = 0;
    std::vector<std::string> registry_codes;
    std::string url;           // always redacted
    bool tls = false;          // the failure was in TLS (handshake, certificate), not in TCP
    std::string retry_after{}; // the registry's Retry-After on a busy answer
    bool too_slow = false;     // below the minimum transfer rate (not worth retrying)
    bool circuit_open = false; // refused at once: the host's circuit breaker is open
};

// The one exception type floe throws. what() is a single line meant for a person.
class Error : public std::system_error {
  public:
    Error(Errc code, const std::string& message, Diagnostics diag = {});
    Errc errc() const noexcept { return static_cast<Errc>(code().value()); }
    const Diagnostics& diagnostics() const noexcept { return diag_; }
    const char* what() const noexcept override { return message_.c_str(); }

  private:
    Diagnostics diag_;
    std::string message_;
};

[[noreturn]] void fail(Errc code, const std::string& message, Diagnostics diag = {});

} // namespace floe

template <>
struct std::is_error_code_enum<floe::Errc> : std::true_type {};
