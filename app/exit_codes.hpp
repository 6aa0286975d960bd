// The floe command's exit codes: one per kind of failure a script may want to tell apart.
#pragma once

#include "floe/core/error.hpp"
#include "floe/core/ping_result.hpp"

namespace floe::cli {

enum ExitCode : int {
    exit_ok = 0,
    exit_failure = 1,       // anything not listed below (registry 5xx, protocol violations)
    exit_usage = 2,         // bad command line, malformed reference
    exit_not_found = 3,     // tag, digest, repository or input file missing
    exit_auth = 4,          // credentials missing, refused, or not allowed
    exit_verification = 5,  // content failed its digest/size check, or is unsafe to unpack
    exit_network = 6,       // unreachable, TLS failure, timeout, connection lost
    exit_invalid_input = 7, // not a valid artifact (e.g. compiled_artifacts.json)
    exit_conflict = 8,      // release tag already taken, output already exists
    exit_io = 9,            // local file system error
    exit_tls = 10,          // registry ping: a certificate expired, untrusted, for another name
    exit_unhealthy = 11,    // registry ping: 5xx, or not a registry
    exit_interrupted = 130, // Ctrl-C (128 + SIGINT): only resumable state is left
};

ExitCode exit_code_for(Errc e);
// `floe registry ping`: the code of the worst result (unreachable 6, TLS 10, unauthorized 4,
// unhealthy 11), so a script can tell them apart.
ExitCode exit_code_for(PingStatus worst);

} // namespace floe::cli
