#include "floe/http/retry.hpp"

namespace floe::http {

bool is_retryable_status(int status) {
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
           status == 504;
}

bool is_retryable(const Error& error) {
    switch (error.errc()) {
    case Errc::network:
        // A TLS failure (a certificate the client refuses, a server that does not speak TLS)
        // does not get better by asking again.
        // Neither does a server that trickles: it will trickle again.
        // An open circuit refuses every attempt until its recovery timeout: retrying it would
        // only spend the budget (a failover layer goes to a mirror instead).
        return !error.diagnostics().tls && !error.diagnostics().too_slow &&
               !error.diagnostics().circuit_open;
    case Errc::registry:
        return is_retryable_status(error.diagnostics().http_status);
    default:
        return false;
    }
}

bool RetryBudget::allow_another(bool progressed) {
    ++total_;
    in_a_row_ = progressed ? 1 : in_a_row_ + 1;
    return in_a_row_ < policy_.max_attempts && total_ < policy_.max_total_attempts();
}

} // namespace floe::http
