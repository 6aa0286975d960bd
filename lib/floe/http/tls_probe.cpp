#include "floe/http/tls_probe.hpp"

#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/asio/ssl/verify_context.hpp>

#include <openssl/x509.h>
#include <openssl/x509_vfy.h>

#include <ctime>

namespace floe::http {

namespace {

std::optional<std::chrono::system_clock::time_point> not_after_of(X509* cert) {
    std::tm tm{};
    if (!cert || ASN1_TIME_to_tm(X509_get0_notAfter(cert), &tm) != 1)
        return std::nullopt;
    return std::chrono::system_clock::from_time_t(::timegm(&tm));
}

void record_error(TlsFacts& facts, int error) {
    switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
        facts.expired = true;
        break;
    case X509_V_ERR_CERT_NOT_YET_VALID:
        facts.not_yet_valid = true;
        break;
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
        facts.untrusted = true;
        break;
    default:
        if (facts.other.empty())
            facts.other = X509_verify_cert_error_string(error);
    }
}

} // namespace

std::function<bool(bool, boost::asio::ssl::verify_context&)> recording_verifier(TlsFacts& facts,
                                                                                std::string host) {
    return [&facts, check_name = boost::asio::ssl::host_name_verification(std::move(host))](
               bool preverified, boost::asio::ssl::verify_context& ctx) mutable {
        auto* store = ctx.native_handle();
        if (!preverified)
            record_error(facts, X509_STORE_CTX_get_error(store));
        if (X509_STORE_CTX_get_error_depth(store) == 0) {
            facts.certificate_seen = true;
            facts.not_after = not_after_of(X509_STORE_CTX_get_current_cert(store));
            // Asked as if the chain were fine: the name is a question of its own.
            if (!check_name(true, ctx))
                facts.name_mismatch = true;
        }
        return true; // nothing is sent over a probe: learn everything, refuse nothing
    };
}

std::string utc_date(std::chrono::system_clock::time_point t) {
    auto seconds = std::chrono::system_clock::to_time_t(t);
    std::tm tm{};
    ::gmtime_r(&seconds, &tm);
    char buf[16];
    std::strftime(buf, sizeof buf, "%Y-%m-%d", &tm);
    return buf;
}

} // namespace floe::http
