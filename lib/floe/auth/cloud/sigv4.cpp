#include "floe/auth/cloud/sigv4.hpp"

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <ctime>
#include <map>

namespace floe::auth::aws {
namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";

std::string to_hex(const unsigned char* p, std::size_t n) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(2 * n);
    for (std::size_t i = 0; i < n; ++i) {
        out.push_back(digits[p[i] >> 4]);
        out.push_back(digits[p[i] & 15]);
    }
    return out;
}

std::string sha256_hex(std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_Digest(data.data(), data.size(), md, &len, EVP_sha256(), nullptr);
    return to_hex(md, len);
}

// Raw HMAC-SHA256 bytes: each step of the key derivation keys the next with them.
std::string hmac(std::string_view key, std::string_view data) {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
         reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
    return std::string(reinterpret_cast<const char*>(md), len);
}

std::string hex_of(std::string_view bytes) {
    return to_hex(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

std::string lower(std::string_view s) {
    std::string out(s);
    for (auto& c : out)
        if (c >= 'A' && c <= 'Z')
            c = static_cast<char>(c - 'A' + 'a');
    return out;
}

// Leading and trailing blanks dropped, every inner run of blanks as one space (quoted runs
// too: the published get-header-value-trim vector collapses them).
std::string trim_value(std::string_view v) {
    std::string out;
    bool blank = false;
    for (char c : v) {
        if (c == ' ' || c == '\t') {
            blank = true;
            continue;
        }
        if (blank && !out.empty())
            out.push_back(' ');
        blank = false;
        out.push_back(c);
    }
    return out;
}

std::string date_of(const SigningInput& in) {
    return in.timestamp.substr(0, 8);
}

std::string scope_of(const SigningInput& in) {
    return date_of(in) + "/" + in.region + "/" + in.service + "/aws4_request";
}

// Lower-case name -> value, sorted by name: host and x-amz-date from the signer, duplicates
// joined in the order given.
std::map<std::string, std::string> canonical_headers(const SigningInput& in) {
    std::map<std::string, std::string> out;
    for (auto& [name, value] : in.headers) {
        auto key = lower(trim_value(name));
        if (key == "host" || key == "x-amz-date")
            continue;
        auto [it, fresh] = out.try_emplace(key, trim_value(value));
        if (!fresh) {
            it->second.push_back(',');
            it->second += trim_value(value);
        }
    }
    out["host"] = in.host;
    out["x-amz-date"] = in.timestamp;
    return out;
}

std::string signed_header_list(const std::map<std::string, std::string>& headers) {
    std::string out;
    for (auto& [name, value] : headers) {
        if (!out.empty())
            out.push_back(';');
        out += name;
    }
    return out;
}

// The day's key for one region and service: the secret itself never signs a request.
std::string derive_key(std::string_view secret, std::string_view date, std::string_view region,
                       std::string_view service) {
    auto k = hmac("AWS4" + std::string(secret), date);
    k = hmac(k, region);
    k = hmac(k, service);
    return hmac(k, "aws4_request");
}

std::string canonical_uri(std::string_view path) {
    if (path.empty())
        return "/";
    return uri_encode(path, true);
}

} // namespace

std::string uri_encode(std::string_view s, bool keep_slash) {
    static constexpr char digits[] = "0123456789ABCDEF";
    std::string out;
    for (unsigned char c : s) {
        bool unreserved = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
                          (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.' || c == '~';
        if (unreserved || (keep_slash && c == '/')) {
            out.push_back(static_cast<char>(c));
        } else {
            out.push_back('%');
            out.push_back(digits[c >> 4]);
            out.push_back(digits[c & 15]);
        }
    }
    return out;
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
    std::vector<std::pair<std::string, std::string>> encoded;
    encoded.reserve(query.size());
    for (auto& [name, value] : query)
        encoded.emplace_back(uri_encode(name), uri_encode(value));
    std::sort(encoded.begin(), encoded.end());
    std::string out;
    for (auto& [name, value] : encoded) {
        if (!out.empty())
            out.push_back('&');
        out += name;
        out.push_back('=');
        out += value;
    }
    return out;
}

std::string canonical_request(const SigningInput& in) {
    auto headers = canonical_headers(in);
    std::string out =
        in.method + "\n" + canonical_uri(in.path) + "\n" + canonical_query(in.query) + "\n";
    for (auto& [name, value] : headers)
        out += name + ":" + value + "\n";
    out.push_back('\n');
    out += signed_header_list(headers);
    out.push_back('\n');
    out += sha256_hex(in.body);
    return out;
}

std::string string_to_sign(const SigningInput& in) {
    return std::string(algorithm) + "\n" + in.timestamp + "\n" + scope_of(in) + "\n" +
           sha256_hex(canonical_request(in));
}

std::string signing_key_hex(std::string_view secret_access_key, std::string_view date,
                            std::string_view region, std::string_view service) {
    return hex_of(derive_key(secret_access_key, date, region, service));
}

std::vector<std::pair<std::string, std::string>> sign(const SigningInput& input,
                                                      const AwsCredentials& credentials) {
    SigningInput in = input;
    if (!credentials.session_token.empty())
        in.headers.emplace_back("X-Amz-Security-Token", credentials.session_token);
    auto key = derive_key(credentials.secret_access_key, date_of(in), in.region, in.service);
    auto signature = hex_of(hmac(key, string_to_sign(in)));

    std::vector<std::pair<std::string, std::string>> out;
    out.emplace_back("X-Amz-Date", in.timestamp);
    if (!credentials.session_token.empty())
        out.emplace_back("X-Amz-Security-Token", credentials.session_token);
    out.emplace_back("Authorization",
                     std::string(algorithm) + " Credential=" + credentials.access_key_id + "/" +
                         scope_of(in) + ", SignedHeaders=" +
                         signed_header_list(canonical_headers(in)) + ", Signature=" + signature);
    return out;
}

std::string amz_date(long long unix_seconds) {
    std::time_t t = static_cast<std::time_t>(unix_seconds);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
    return buf;
}

} // namespace floe::auth::aws
