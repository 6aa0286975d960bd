// How a registry in the platform manifest authenticates, and where its secret lives: floe's
// `auth` block (`type`, `credentials_ref`). The manifest never holds a secret, only a reference
// to one: `source: env` names FLOE_SECRET_<NAME>_* environment variables (floe's convention),
// `source: kubernetes` names a pull secret read through the API server (the `k8s:` source of
// auth/pull_secret_keychain.hpp). Pure: reading a variable is the only contact with the process.
#pragma once

#include "floe/auth/credentials.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace floe::config {

enum class AuthType {
    anonymous,
    basic,
    token,
    aws_irsa,
    azure_managed_identity,
    gcp_workload_identity
};

// "basic", "aws-irsa", ... as written in the manifest; nullopt for another word.
std::optional<AuthType> parse_auth_type(std::string_view text);
std::string_view to_string(AuthType type);
// basic and token need a credentials_ref; every other type must not have one.
bool needs_credentials_ref(AuthType type);

struct CredentialsRef {
    enum class Source { env, kubernetes };
    Source source = Source::env;
    std::string name; // env: [A-Za-z0-9_-]+; kubernetes: "NAME" or "NAMESPACE/NAME"
    std::string key;  // env only: the one variable holding the password or token; may be empty
};

struct AuthSpec {
    AuthType type = AuthType::anonymous;
    std::optional<CredentialsRef> credentials_ref; // set exactly when needs_credentials_ref(type)
};

// How a reference is shown (`config show`, errors): "env:NAME", "env:NAME#KEY", "k8s:NS/NAME".
// Names only, never a value.
std::string describe(const CredentialsRef& ref);

// The variable name part for a name or key: upper-cased, '-' to '_' ("orders-robot" ->
// "ORDERS_ROBOT").
std::string secret_env_part(std::string_view name);

// The variables a `source: env` reference reads for `type`, in order:
//   basic: FLOE_SECRET_<NAME>_USERNAME, then FLOE_SECRET_<NAME>_PASSWORD (or _<KEY> with a key)
//   token: FLOE_SECRET_<NAME>_TOKEN (or _<KEY> with a key)
// Empty for any other type or source.
std::vector<std::string> secret_env_variables(const CredentialsRef& ref, AuthType type);

// "k8s:NAMESPACE/NAME" (or "k8s:NAME": the service account's namespace) for a kubernetes
// reference, the spec auth::PullSecretKeychain takes; empty for an env reference.
std::string pull_secret_spec(const CredentialsRef& ref);

// Reads a variable; nullopt when unset. The default reads the process environment.
using EnvLookup = std::function<std::optional<std::string>(const std::string&)>;
std::optional<std::string> process_env(const std::string& name);

// The credentials an env reference stands for, read now. basic: username and password; token:
// Credentials::registry_token (a bearer token sent as it is). Every value goes through
// remember_secret() before anything could print it. A variable that is unset or empty throws
// Error(invalid_argument) naming the variable (never a value). Requires an env reference and a
// type that needs one.
Credentials resolve_env_secret(const CredentialsRef& ref, AuthType type,
                               const EnvLookup& lookup = process_env);

// A CredentialStore (RegistrySettings::credentials) that answers with resolve_env_secret() for
// every lookup: the variables are read when a request needs them, so a missing one fails that
// registry's requests (the client's chain warns and goes on) instead of every command.
std::shared_ptr<const CredentialStore> env_secret_store(CredentialsRef ref, AuthType type,
                                                        EnvLookup lookup = process_env);

} // namespace floe::config
