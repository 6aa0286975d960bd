// Text that came from a registry (error messages, annotations, titles, header values) is
// untrusted: a terminal escape in it can rewrite the screen and forge output lines, and a
// registry may echo credentials or signed URLs back. Everything floe prints passes through
// scrub(): control characters escaped, the secrets in use replaced, URL query strings dropped.
#pragma once

#include <string>
#include <string_view>

namespace floe {

// Control characters (C0, DEL, C1) and invalid UTF-8 as \xNN escapes; the rest as it is.
std::string printable(std::string_view text);

// Remembers a secret (a password, a token, an Authorization value) for the life of the process,
// so that no output ever shows it, wherever it appears. Values under 4 bytes are ignored.
void remember_secret(std::string_view secret);

// `text` with every remembered secret replaced by "<redacted>".
std::string redact_secrets(std::string_view text);

// A URL query string ("a=1&b=2", without the '?') with every value replaced by "<redacted>"
// except those known to be harmless (digest, mount, from, n, last, service, scope,
// artifactType): signatures, tokens and upload session state go.
std::string redact_query(std::string_view query);

// `text` with the query string of every http(s) URL in it redacted (signed URLs carry their
// signature there).
std::string redact_urls(std::string_view text);

// All three: what any output line goes through.
std::string scrub(std::string_view text);

} // namespace floe
