#include "floe/registry/errors.hpp"

#include <simdjson.h>

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

} // namespace floe::registry
