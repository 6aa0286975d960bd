// Azure Container Registry (*.azurecr.io, *.azurecr.cn, *.azurecr.us): an Entra ID access token
// for Azure Resource Manager, exchanged at https://REGISTRY/oauth2/exchange for a registry
// refresh token, which the authenticator then uses in the registry's token flow (user
// 00000000-0000-0000-0000-000000000000, Credentials::identity_token). The Entra token comes from,
// in this order:
//   1. AZURE_ACCESS_TOKEN, used as it is;
//   2. workload identity: AZURE_FEDERATED_TOKEN_FILE + AZURE_CLIENT_ID + AZURE_TENANT_ID, the
//      client-credentials grant with the file as client assertion, at AZURE_AUTHORITY_HOST
//      (default https://login.microsoftonline.com/);
//   3. the managed-identity endpoint: IDENTITY_ENDPOINT + IDENTITY_HEADER (App Service,
//      Functions, Container Apps, Arc), with AZURE_CLIENT_ID for a user-assigned identity;
//   4. IMDS (http://169.254.169.254, or AZURE_POD_IDENTITY_AUTHORITY_HOST), only when
//      FLOE_AZURE_IMDS=1 or AZURE_POD_IDENTITY_AUTHORITY_HOST is set: a link-local address is
//      never probed by surprise.
// The Entra token is kept in memory until shortly before it expires.
//
// Test hook: FLOE_ACR_EXCHANGE_URL replaces https://REGISTRY/oauth2/exchange (the integration
// tests cannot own a *.azurecr.io name); it must be https, or http on loopback.
#pragma once

#include "floe/auth/keychain.hpp"
#include "floe/auth/source.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace floe::auth {

bool is_acr_host(std::string_view registry);

class AcrKeychain final : public Keychain {
  public:
    explicit AcrKeychain(SourceContext context);
    ~AcrKeychain() override;
    // nullopt for hosts that are not ACR, and when no Azure identity is configured.
    Task<std::optional<Credentials>> resolve(std::string_view registry,
                                             std::string_view repository) override;

  private:
    struct State;
    SourceContext context_;
    std::unique_ptr<State> state_;
};

// The pure parts, for tests.
namespace azure {

inline constexpr std::string_view acr_username = "00000000-0000-0000-0000-000000000000";
inline constexpr std::string_view default_authority = "https://login.microsoftonline.com/";
inline constexpr std::string_view arm_resource = "https://management.azure.com/";
inline constexpr std::string_view arm_scope = "https://management.azure.com/.default";
inline constexpr std::string_view imds_host = "http://169.254.169.254";

// AUTHORITY/TENANT/oauth2/v2.0/token. Throws Error(invalid_argument) for a tenant that is not
// a GUID or domain name, or an authority that is neither https nor loopback http.
std::string token_endpoint(std::string_view authority, std::string_view tenant);

// The client-credentials grant with a federated token as the client assertion.
std::string workload_identity_form(std::string_view client_id, std::string_view assertion);

// The managed-identity endpoint's URL for ARM (App Service style, api-version 2019-08-01), or
// IMDS's (api-version 2018-02-01); `client_id` "" for the system-assigned identity.
std::string managed_identity_url(std::string_view endpoint, std::string_view client_id);
std::string imds_url(std::string_view host, std::string_view client_id);

struct EntraToken {
    std::string token;
    std::int64_t expires_in = 0; // seconds from `now`; 0 when the answer did not say
};

// An Entra ID or managed-identity answer: access_token with expires_in (a number or, from
// IMDS, a string) or expires_on (Unix seconds, a number or a string). Throws Error(protocol)
// without quoting the answer.
EntraToken parse_entra_token(std::string_view json, std::int64_t now);

// The tenant ("tid") an Entra access token names, read without verifying it (it only tells the
// registry where to look); "" when the token is not a JWT or has none.
std::string tenant_of(std::string_view access_token);

// The exchange's URL (`override_url` when set) and form; `registry` without the port.
std::string exchange_url(std::string_view registry, std::string_view override_url);
std::string exchange_form(std::string_view registry, std::string_view tenant,
                          std::string_view access_token);

// {"refresh_token": "..."} from /oauth2/exchange. Throws Error(protocol).
std::string parse_exchange_answer(std::string_view json);

} // namespace azure
} // namespace floe::auth
