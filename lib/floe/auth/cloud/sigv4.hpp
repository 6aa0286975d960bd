// AWS Signature Version 4
// (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html) as a
// pure function over a request's parts, with OpenSSL's SHA-256 and HMAC. Checked against AWS's
// published test vectors.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace floe::auth::aws {

struct AwsCredentials {
    std::string access_key_id;
    std::string secret_access_key;
    std::string session_token; // temporary credentials (STS); "" for long-term keys
};

struct SigningInput {
    std::string method; // "POST"
    std::string host;   // as sent in Host
    // The path as sent on the wire (already percent-encoded). Every service but S3 signs it
    // encoded once more, segment by segment; it is not normalised (callers sign "/").
    std::string path = "/";
    std::vector<std::pair<std::string, std::string>> query; // decoded names and values
    // Signed besides host and x-amz-date (which the signer sets itself: a Host or X-Amz-Date
    // given here is ignored). A name given twice is signed as one header, values joined by ','.
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
    std::string region;
    std::string service;   // "ecr", "sts"
    std::string timestamp; // "20150830T123600Z" (x-amz-date)
};

// The headers to add to the request: X-Amz-Date, X-Amz-Security-Token (with a session token,
// which is then signed too) and Authorization.
std::vector<std::pair<std::string, std::string>> sign(const SigningInput& input,
                                                      const AwsCredentials& credentials);

// Intermediate results, for tests against the published vectors. They sign exactly the
// headers in `input` (sign() adds the session token to them first).
std::string canonical_request(const SigningInput& input);
std::string string_to_sign(const SigningInput& input);

// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - _ . ~)
// as they are, every other byte as %XX with upper-case hex; '/' kept when `keep_slash`.
std::string uri_encode(std::string_view s, bool keep_slash = false);

// "a=1&b=2": names and values encoded, pairs sorted by name then value. Also the query string
// to send, so that what is signed is what goes on the wire.
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);

// The HMAC key for a day, region and service (hex), for the documentation's derivation example.
std::string signing_key_hex(std::string_view secret_access_key, std::string_view date,
                            std::string_view region, std::string_view service);

// "20150830T123600Z" for a Unix time (UTC).
std::string amz_date(long long unix_seconds);

} // namespace floe::auth::aws
