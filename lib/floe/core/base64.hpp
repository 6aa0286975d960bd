// Base64 (RFC 4648 section 4) and its URL-safe form (section 5), for credentials in config
// files and Secrets, Basic authorization and JWTs. Decoding is strict: a character outside the
// alphabet or a bad length gives nullopt, never a partial result.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace floe {

std::string base64_encode(std::string_view in);
std::optional<std::string> base64_decode(std::string_view in); // padding required

std::string base64url_encode(std::string_view in);                // no padding
std::optional<std::string> base64url_decode(std::string_view in); // padding optional

} // namespace floe
