// Link-header paging (RFC 8288) as a pure function: the distribution spec pages tag lists and
// referrers with `Link: <url>; rel="next"`.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace floe::registry {

// The URI reference of the link whose rel includes "next", as written (relative or absolute;
// the caller resolves it against the request URL and checks its origin). nullopt when there is
// none or the header is malformed.
std::optional<std::string> next_link(std::string_view link_header);

} // namespace floe::registry
