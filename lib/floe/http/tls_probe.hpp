// What a TLS handshake shows about a server's certificate, learned without trusting it: for
// health checks, which must say *why* a certificate is bad (expired on which date, untrusted,
// for another name) where a normal connection only fails. The probe sends nothing over the
// connection, so completing a handshake with a bad certificate exposes nothing.
//
// Internal header; no Asio types (the OpenSSL callback lives in tls_probe.cpp).
#pragma once

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace boost::asio::ssl {
class verify_context;
}

namespace floe::http {

struct TlsFacts {
    bool handshake_done = false;
    std::string handshake_error; // why it failed, when it did
    bool certificate_seen = false;
    // The server (leaf) certificate's notAfter.
    std::optional<std::chrono::system_clock::time_point> not_after;
    // What verification found; all false: a certificate this client would accept.
    bool expired = false; // the leaf or a certificate of its chain
    bool not_yet_valid = false;
    bool untrusted = false;     // no chain to a trusted CA (self-signed included)
    bool name_mismatch = false; // not issued for the host that was asked for
    std::string other;          // any other verification error, as OpenSSL words it

    bool certificate_ok() const {
        return certificate_seen && !expired && !not_yet_valid && !untrusted && !name_mismatch &&
               other.empty();
    }
};

// An OpenSSL verify callback for a probe: records each problem (and the leaf's notAfter) in
// `facts` and lets the handshake go on, so that one probe learns all of them. `facts` must
// outlive the handshake.
std::function<bool(bool, boost::asio::ssl::verify_context&)> recording_verifier(TlsFacts& facts,
                                                                                std::string host);

// Formats a notAfter for people: "2020-01-01" (UTC).
std::string utc_date(std::chrono::system_clock::time_point t);

} // namespace floe::http
