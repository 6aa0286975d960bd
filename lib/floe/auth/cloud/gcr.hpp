// Google Container Registry and Artifact Registry (gcr.io, *.gcr.io, *-docker.pkg.dev): user
// "oauth2accesstoken" with an OAuth2 access token from, in this order:
//   1. GOOGLE_OAUTH_ACCESS_TOKEN, used as it is;
//   2. a service-account key file (GOOGLE_APPLICATION_CREDENTIALS): an RS256-signed JWT
//      exchanged at the key's token_uri (https, or http on loopback for tests);
//   3. the metadata server: GCE_METADATA_HOST (host[:port], plain http as the server speaks),
//      else metadata.google.internal, but only when the machine says it is a Google Compute
//      Engine VM (DMI product name), so that nothing else is ever probed.
// Access tokens are kept in memory until shortly before they expire.
#pragma once

#include "floe/auth/keychain.hpp"
#include "floe/auth/source.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace floe::auth {

bool is_gcr_host(std::string_view registry);

class GcrKeychain final : public Keychain {
  public:
    explicit GcrKeychain(SourceContext context);
    ~GcrKeychain() override;
    // nullopt for hosts that are not Google's, and when no Google identity is configured.
    Task<std::optional<Credentials>> resolve(std::string_view registry,
                                             std::string_view repository) override;

  private:
    struct State;
    SourceContext context_;
    std::unique_ptr<State> state_;
};

// The pure parts, for tests.
namespace gcp {

inline constexpr std::string_view default_token_uri = "https://oauth2.googleapis.com/token";
inline constexpr std::string_view cloud_platform_scope =
    "https://www.googleapis.com/auth/cloud-platform";

struct ServiceAccountKey {
    std::string client_email;
    std::string private_key; // PEM
    std::string private_key_id;
    std::string token_uri;
};

// A service-account key file's JSON. Throws Error(invalid_argument) naming what is missing or
// wrong (never the key's content); a token_uri that is neither https nor loopback http is wrong.
ServiceAccountKey parse_service_account_key(std::string_view json);

// The signed JWT a service account presents at its token_uri, issued at `now` (Unix seconds),
// valid for an hour. Throws Error(invalid_argument) for a private key that is not an RSA PEM.
std::string build_assertion(const ServiceAccountKey& key, std::int64_t now);

// RS256 (RSASSA-PKCS1-v1_5 with SHA-256) over `data` with a PEM private key: raw signature bytes.
std::string rs256_sign(std::string_view pem, std::string_view data);

// The token request's form body for the JWT-bearer grant (RFC 7523).
std::string assertion_form(std::string_view assertion);

struct AccessToken {
    std::string token;
    std::int64_t expires_in = 0; // seconds; 0 when the answer did not say
};

// {"access_token": "...", "expires_in": 3599, ...} from a token endpoint or the metadata
// server. Throws Error(protocol) without quoting the answer.
AccessToken parse_access_token(std::string_view json);

} // namespace gcp
} // namespace floe::auth
