// The docker credential-helper protocol: `docker-credential-NAME get|store|erase`, found on
// PATH, with the server URL (get, erase) or a JSON document (store) on stdin and JSON on stdout.
// Each run is bounded by the context's timeout and killed past it. A username of "<token>"
// means the secret is an identity (refresh) token.
//
// NAME must match [A-Za-z0-9._-]+ (it comes from a file: no path may hide in it). The helper's
// stdout is capped at 1 MiB; its stderr is never shown raw (it may hold secrets): an error
// carries at most a short, scrubbed excerpt of it.
#pragma once

#include "floe/auth/credentials.hpp"
#include "floe/auth/source.hpp"
#include "floe/target/target.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace floe::auth {

// "credential helper docker-credential-NAME", for messages (NAME made printable).
std::string helper_label(const std::string& name);

// Credentials the helper holds for `server_url`, nullopt when it has none ("credentials not
// found"). A missing helper, a failure or a timeout throws floe::Error naming the helper (the
// keychain turns it into one warning).
Task<std::optional<Credentials>> helper_get(const SourceContext& context, const std::string& name,
                                            const std::string& server_url);
Task<void> helper_store(const SourceContext& context, const std::string& name,
                        const std::string& server_url, const Credentials& credentials);
// True when the helper had credentials for `server_url` (false: "credentials not found").
Task<bool> helper_erase(const SourceContext& context, const std::string& name,
                        const std::string& server_url);

// Whether NAME is one a helper may have ([A-Za-z0-9._-]+).
bool is_valid_helper_name(std::string_view name);

} // namespace floe::auth
