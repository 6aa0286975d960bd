// Amazon ECR (ACCOUNT.dkr.ecr.REGION.amazonaws.com[.cn]): GetAuthorizationToken, signed with
// SigV4, with AWS credentials from the environment (AWS_ACCESS_KEY_ID/...), web identity (IRSA:
// AWS_ROLE_ARN + AWS_WEB_IDENTITY_TOKEN_FILE through STS AssumeRoleWithWebIdentity), or the
// shared credentials and config files (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE,
// AWS_CONFIG_FILE), in that order. The 12-hour registry token is cached on disk (0600) under
// $XDG_CACHE_HOME/floe/ecr and refreshed 30 minutes before it expires. AWS_ENDPOINT_URL_ECR and
// AWS_ENDPOINT_URL_STS (or AWS_ENDPOINT_URL) point the calls elsewhere (tests); AWS_CA_BUNDLE
// adds trusted CAs for them.
#pragma once

#include "floe/auth/cloud/sigv4.hpp"
#include "floe/auth/keychain.hpp"
#include "floe/auth/source.hpp"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace floe::auth {

struct EcrHost {
    std::string account;
    std::string region;
    bool fips = false;  // ACCOUNT.dkr.ecr-fips.REGION...
    bool china = false; // ....amazonaws.com.cn
};
// The account and region of an ECR registry host, nullopt for any other host.
std::optional<EcrHost> parse_ecr_host(std::string_view registry);

class EcrKeychain final : public Keychain {
  public:
    explicit EcrKeychain(SourceContext context);
    ~EcrKeychain() override;
    // nullopt for hosts that are not ECR, and when no AWS credentials are configured.
    Task<std::optional<Credentials>> resolve(std::string_view registry,
                                             std::string_view repository) override;

  private:
    struct State;
    SourceContext context_;
    std::unique_ptr<State> state_;
};

// The pure parts, for tests.
namespace ecr {

// An environment lookup (std::getenv in production); nullopt or "" for unset.
using Getenv = std::function<std::optional<std::string>(std::string_view)>;
Getenv process_environment();

// One profile's "key = value" settings.
using Profile = std::map<std::string, std::string, std::less<>>;
// The profiles of a shared credentials file ("[NAME]" sections) or, with `config_file`, of a
// config file ("[profile NAME]", and "[default]"); other sections are skipped.
std::map<std::string, Profile, std::less<>> parse_profiles(std::string_view text, bool config_file);

// Where AWS credentials come from, before any request.
struct AwsIdentity {
    enum class Kind { keys, web_identity };
    Kind kind = Kind::keys;
    aws::AwsCredentials keys; // Kind::keys
    std::string role_arn;     // Kind::web_identity
    std::filesystem::path token_file;
    std::string session_name;
    // "ECR (environment keys)", "ECR (profile NAME)", "ECR (web identity ROLE)".
    std::string source;
    // What the registry token is cached under: the access key id, or the role.
    std::string cache_identity;
};
// nullopt when nothing is configured. Throws Error for a configuration that is there but
// unusable (a named profile that does not exist, half a key pair, a profile that needs SSO or
// credential_process), naming the source.
std::optional<AwsIdentity> find_identity(const Getenv& env);

// STS AssumeRoleWithWebIdentity: the form body of the request, and the credentials in its XML
// answer (throws Error(protocol) when they are not there).
std::string assume_role_form(std::string_view role_arn, std::string_view session_name,
                             std::string_view web_identity_token);
struct StsAnswer {
    aws::AwsCredentials credentials;
    std::string expiration; // ISO 8601, as sent
};
StsAnswer parse_assume_role_answer(std::string_view xml);
// The text of the first <name> element (entities decoded), nullopt without one.
std::optional<std::string> xml_element(std::string_view xml, std::string_view name);
// An AWS error code from an error answer ("AccessDenied"), printable and short; "" if none.
std::string aws_error_code(std::string_view body);

// The registry token from GetAuthorizationToken's JSON answer.
struct EcrToken {
    std::string username; // "AWS"
    std::string password;
    std::int64_t expires_at = 0; // Unix seconds
};
EcrToken parse_authorization_answer(std::string_view json);

// Endpoints: the override from the environment (AWS_ENDPOINT_URL_ECR / _STS, then
// AWS_ENDPOINT_URL), else the region's public endpoint.
std::string ecr_endpoint(const EcrHost& host, const Getenv& env);
std::string sts_endpoint(const EcrHost& host, const Getenv& env);

// The disk cache: one file per account, region and identity (hashed).
std::filesystem::path cache_dir(const Getenv& env);
std::string cache_file_name(const EcrHost& host, std::string_view identity);
std::string cache_entry(const EcrToken& token);
std::optional<EcrToken> parse_cache_entry(std::string_view json); // nullopt when corrupt
// Reused until 30 minutes before it expires.
bool still_fresh(const EcrToken& token, std::int64_t now);

} // namespace ecr

} // namespace floe::auth
