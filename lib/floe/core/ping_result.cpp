#include "floe/core/ping_result.hpp"

#include <algorithm>

namespace floe {

std::string_view to_string(PingStatus status) {
    switch (status) {
    case PingStatus::healthy:
        return "healthy";
    case PingStatus::unhealthy:
        return "unhealthy";
    case PingStatus::unauthorized:
        return "unauthorized";
    case PingStatus::tls:
        return "tls";
    case PingStatus::unreachable:
        return "unreachable";
    }
    return "unknown";
}

std::string_view to_string(ReferrersSupport support) {
    switch (support) {
    case ReferrersSupport::supported:
        return "supported";
    case ReferrersSupport::unsupported:
        return "unsupported";
    case ReferrersSupport::unknown:
        break;
    }
    return "unknown";
}

PingStatus worst_status(const std::vector<PingResult>& results) {
    auto worst = PingStatus::healthy;
    for (auto& r : results)
        worst = std::max(worst, r.status);
    return worst;
}

} // namespace floe
