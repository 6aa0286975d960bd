#include "floe/artifact/compiled_artifacts.hpp"

#include "floe/core/error.hpp"

#include <simdjson.h>

namespace floe::artifact {
namespace {

// A version may be written as a string ("1.2.0") or a number (3).
bool scalar_text(simdjson::dom::element el, std::string& out) {
    std::string_view s;
    if (el.get(s) == simdjson::SUCCESS) {
        out = std::string(s);
        return !out.empty();
    }
    if (el.is_int64()) {
        out = std::to_string(el.get_int64().value_unsafe());
        return true;
    }
    if (el.is_double()) {
        out = simdjson::to_string(el);
        return true;
    }
    return false;
}

} // namespace

ProductInfo validate_compiled_artifacts(std::string_view json, std::string_view path) {
    std::string where(path);
    auto bad = [&](const std::string& why) {
        fail(Errc::invalid_artifact,
             where + ": " + why + "; fix the file (rebuild the product) and push again");
    };
    simdjson::dom::parser parser;
    simdjson::dom::element doc;
    auto err = parser.parse(json.data(), json.size()).get(doc);
    if (err)
        bad(std::string("not valid JSON (") + simdjson::error_message(err) + ")");
    if (!doc.is_object())
        bad("the top level must be a JSON object");
    ProductInfo info;
    auto version = doc["version"];
    if (version.error())
        bad("missing field \"version\"");
    if (!scalar_text(version.value_unsafe(), info.artifacts_version))
        bad("field \"version\" must be a non-empty string or a number");
    auto metadata = doc["metadata"];
    if (metadata.error())
        bad("missing field \"metadata\"");
    if (!metadata.is_object())
        bad("field \"metadata\" must be an object");
    for (auto [field, out] :
         {std::pair{"product_name", &info.name}, std::pair{"product_version", &info.version}}) {
        auto f = metadata[field];
        if (f.error())
            bad(std::string("missing field \"metadata.") + field + "\"");
        if (!scalar_text(f.value_unsafe(), *out))
            bad(std::string("field \"metadata.") + field + "\" must be a non-empty string");
    }
    return info;
}

} // namespace floe::artifact
