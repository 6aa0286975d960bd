#include "exit_codes.hpp"

namespace floe::cli {

ExitCode exit_code_for(Errc e) {
    switch (e) {
    case Errc::ok:
        return exit_ok;
    case Errc::invalid_argument:
    case Errc::invalid_reference:
        return exit_usage;
    case Errc::not_found:
        return exit_not_found;
    case Errc::unauthorized:
    case Errc::denied:
        return exit_auth;
    case Errc::verification_failed:
    case Errc::unsafe_path:
        return exit_verification;
    case Errc::network:
        return exit_network;
    case Errc::invalid_artifact:
        return exit_invalid_input;
    case Errc::conflict:
        return exit_conflict;
    case Errc::io:
        return exit_io;
    case Errc::protocol:
    case Errc::registry:
    case Errc::too_large:
    case Errc::unsupported:
        return exit_failure;
    case Errc::cancelled:
        return exit_interrupted;
    }
    return exit_failure;
}

ExitCode exit_code_for(PingStatus worst) {
    switch (worst) {
    case PingStatus::healthy:
        return exit_ok;
    case PingStatus::unhealthy:
        return exit_unhealthy;
    case PingStatus::unauthorized:
        return exit_auth;
    case PingStatus::tls:
        return exit_tls;
    case PingStatus::unreachable:
        return exit_network;
    }
    return exit_failure;
}

} // namespace floe::cli
