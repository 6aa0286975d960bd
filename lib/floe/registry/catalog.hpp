// The registry's catalog (GET /v2/_catalog): which repositories it holds under a namespace. Not
// every registry offers it (Docker Hub and GHCR do not; distribution, Harbor and zot do), so a
// caller that can name its repositories should.
#pragma once

#include "floe/registry/registry.hpp"

#include <string>
#include <vector>

namespace floe::registry {

// Every repository whose name is `under` or starts with `under` + "/" ("" for all), following
// Link pagination to the end. Names that are not valid repository names are dropped (they came
// from the registry). Throws Errc::unsupported when the registry has no catalog for this client
// (404, 401, 403), with a hint to name the repositories instead.
Task<std::vector<std::string>> list_repositories(Registry& registry, std::string_view under);

} // namespace floe::registry
