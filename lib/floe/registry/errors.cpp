#include "floe/registry/errors.hpp"

#include <simdjson.h>

#include <charconv>
#include <ctime>
#include <random>

namespace floe::registry {

std::vector<RegistryError> parse_error_body(std::string_view body) {
    std::vector<RegistryError> out;
    simdjson::dom::parser parser;
    simdjson::dom::array errors;
    simdjson::dom::element doc;
    if (body.empty() || parser.parse(body.data(), body.size()).get(doc) != simdjson::SUCCESS)
        return out;
    if (doc["errors"].get(errors) != simdjson::SUCCESS)
        return out;
    for (auto e : errors) {
        RegistryError re;
        std::string_view s;
        if (e["code"].get(s) == simdjson::SUCCESS)
            re.code = std::string(s);
        if (e["message"].get(s) == simdjson::SUCCESS)
            re.message = std::string(s);
        out.push_back(std::move(re));
    }
    return out;
}

Errc classify_status(int status, const std::vector<RegistryError>& errors) {
    for (auto& e : errors) {
        if (e.code == "DIGEST_INVALID" || e.code == "SIZE_INVALID")
            return Errc::verification_failed;
        if (e.code == "NAME_UNKNOWN" || e.code == "MANIFEST_UNKNOWN" || e.code == "BLOB_UNKNOWN")
            return Errc::not_found;
        if (e.code == "UNAUTHORIZED")
            return Errc::unauthorized;
        if (e.code == "DENIED")
            return Errc::denied;
        if (e.code == "NAME_INVALID" || e.code == "TAG_INVALID")
            return Errc::invalid_reference;
        if (e.code == "MANIFEST_INVALID" || e.code == "MANIFEST_BLOB_UNKNOWN")
            return Errc::protocol;
        if (e.code == "UNSUPPORTED")
            return Errc::unsupported;
    }
    switch (status) {
    case 401:
        return Errc::unauthorized;
    case 403:
        return Errc::denied;
    case 404:
        return Errc::not_found;
    case 413:
        return Errc::too_large;
    case 415:
        return Errc::unsupported;
    default:
        return status >= 500 || status == 429 ? Errc::registry : Errc::protocol;
    }
}

bool is_retryable_status(int status) {
    return status == 408 || status == 429 || status == 500 || status == 502 || status == 503 ||
           status == 504;
}

std::chrono::milliseconds retry_delay(int attempt, std::optional<std::string_view> retry_after,
                                      std::chrono::milliseconds cap) {
    using namespace std::chrono;
    if (retry_after) {
        auto v = *retry_after;
        long seconds = 0;
        auto [p, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
        if (ec == std::errc() && p == v.data() + v.size() && seconds >= 0)
            return std::min<milliseconds>(seconds * 1000ms, cap);
        std::tm tm{};
        std::string text(v);
        if (strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm)) {
            auto when = system_clock::from_time_t(timegm(&tm));
            auto wait = duration_cast<milliseconds>(when - system_clock::now());
            return std::clamp<milliseconds>(wait, 0ms, cap);
        }
    }
    // 200 ms, 400 ms, 800 ms, ... with up to 50% jitter so clients do not retry in lockstep.
    static thread_local std::mt19937 rng{std::random_device{}()};
    auto base = 200ms * (1 << std::min(attempt - 1, 8));
    std::uniform_int_distribution<long> jitter(0, base.count() / 2);
    return std::min<milliseconds>(base + milliseconds(jitter(rng)), cap);
}

} // namespace floe::registry
