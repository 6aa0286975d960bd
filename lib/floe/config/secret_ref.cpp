#include "floe/config/secret_ref.hpp"

#include "floe/core/error.hpp"
#include "floe/core/printable.hpp"

#include <array>
#include <cstdlib>
#include <utility>

namespace floe::config {
namespace {

constexpr std::array<std::pair<AuthType, std::string_view>, 6> auth_names{{
    {AuthType::anonymous, "anonymous"},
    {AuthType::basic, "basic"},
    {AuthType::token, "token"},
    {AuthType::aws_irsa, "aws-irsa"},
    {AuthType::azure_managed_identity, "azure-managed-identity"},
    {AuthType::gcp_workload_identity, "gcp-workload-identity"},
}};

// The variable that holds the password (basic) or the token (token).
std::string secret_variable(const CredentialsRef& ref, AuthType type) {
    auto prefix = "FLOE_SECRET_" + secret_env_part(ref.name) + "_";
    if (!ref.key.empty())
        return prefix + secret_env_part(ref.key);
    return prefix + (type == AuthType::basic ? "PASSWORD" : "TOKEN");
}

class EnvSecretStore final : public CredentialStore {
  public:
    EnvSecretStore(CredentialsRef ref, AuthType type, EnvLookup lookup)
        : ref_(std::move(ref)), type_(type), lookup_(std::move(lookup)) {}
    std::optional<Credentials> lookup(std::string_view) const override {
        return resolve_env_secret(ref_, type_, lookup_);
    }

  private:
    CredentialsRef ref_;
    AuthType type_;
    EnvLookup lookup_;
};

} // namespace

std::optional<AuthType> parse_auth_type(std::string_view text) {
    for (auto& [type, name] : auth_names)
        if (name == text)
            return type;
    return std::nullopt;
}

std::string_view to_string(AuthType type) {
    for (auto& [t, name] : auth_names)
        if (t == type)
            return name;
    return "anonymous";
}

bool needs_credentials_ref(AuthType type) {
    return type == AuthType::basic || type == AuthType::token;
}

std::string describe(const CredentialsRef& ref) {
    if (ref.source == CredentialsRef::Source::kubernetes)
        return pull_secret_spec(ref);
    return "env:" + ref.name + (ref.key.empty() ? "" : "#" + ref.key);
}

std::string secret_env_part(std::string_view name) {
    std::string out;
    out.reserve(name.size());
    for (char c : name)
        out += c == '-' ? '_' : (c >= 'a' && c <= 'z') ? static_cast<char>(c - 'a' + 'A') : c;
    return out;
}

std::vector<std::string> secret_env_variables(const CredentialsRef& ref, AuthType type) {
    if (ref.source != CredentialsRef::Source::env || !needs_credentials_ref(type))
        return {};
    std::vector<std::string> out;
    if (type == AuthType::basic)
        out.push_back("FLOE_SECRET_" + secret_env_part(ref.name) + "_USERNAME");
    out.push_back(secret_variable(ref, type));
    return out;
}

std::string pull_secret_spec(const CredentialsRef& ref) {
    return ref.source == CredentialsRef::Source::kubernetes ? "k8s:" + ref.name : std::string();
}

std::optional<std::string> process_env(const std::string& name) {
    const char* v = std::getenv(name.c_str());
    return v ? std::optional<std::string>(v) : std::nullopt;
}

Credentials resolve_env_secret(const CredentialsRef& ref, AuthType type, const EnvLookup& lookup) {
    auto names = secret_env_variables(ref, type);
    if (names.empty())
        fail(Errc::invalid_argument, "credentials_ref " + printable(describe(ref)) +
                                         " is not an environment reference for basic or token "
                                         "authentication");
    std::vector<std::string> values;
    for (auto& name : names) {
        auto v = lookup(name);
        if (!v || v->empty())
            fail(Errc::invalid_argument,
                 "credentials_ref " + printable(describe(ref)) + ": " + name +
                     " is not set; export it (" + std::string(to_string(type)) +
                     " authentication reads " +
                     (names.size() == 2 ? names[0] + " and " + names[1] : names[0]) + ")");
        if (name != names.front() || names.size() == 1) // a user name is no secret
            remember_secret(*v);
        values.push_back(std::move(*v));
    }
    Credentials c;
    if (type == AuthType::basic) {
        c.username = values[0];
        c.password = values[1];
        c.source = "platform manifest (" + names[0] + "/" + names[1] + ")";
    } else {
        c.registry_token = values[0];
        c.source = "platform manifest (" + names[0] + ")";
    }
    return c;
}

std::shared_ptr<const CredentialStore> env_secret_store(CredentialsRef ref, AuthType type,
                                                        EnvLookup lookup) {
    return std::make_shared<EnvSecretStore>(std::move(ref), type, std::move(lookup));
}

} // namespace floe::config
