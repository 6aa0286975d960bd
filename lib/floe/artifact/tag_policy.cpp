#include "floe/artifact/tag_policy.hpp"

#include <array>
#include <cctype>

namespace floe::artifact {
namespace {

constexpr std::array<std::string_view, 7> environments = {
    "dev", "development", "test", "staging", "stage", "prod", "production"};

bool numeric_identifier(std::string_view s) {
    if (s.empty() || (s.size() > 1 && s.front() == '0'))
        return false;
    for (char c : s)
        if (!std::isdigit(static_cast<unsigned char>(c)))
            return false;
    return true;
}

// Pre-release (and build metadata) are dot-separated [0-9A-Za-z-] identifiers.
bool valid_prerelease(std::string_view s) {
    if (s.empty())
        return false;
    std::size_t start = 0;
    while (true) {
        auto dot = s.find('.', start);
        auto id = s.substr(start, dot == std::string_view::npos ? s.npos : dot - start);
        if (id.empty())
            return false;
        for (char c : id)
            if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-'))
                return false;
        if (dot == std::string_view::npos)
            return true;
        start = dot + 1;
    }
}

std::string_view environment_suffix(std::string_view tag) {
    auto dash = tag.rfind('-');
    if (dash == std::string_view::npos)
        return {};
    auto suffix = tag.substr(dash + 1);
    for (auto env : environments)
        if (suffix == env)
            return suffix;
    return {};
}

} // namespace

bool is_semver_tag(std::string_view tag) {
    if (tag.starts_with('v'))
        tag.remove_prefix(1);
    // Build metadata, written "_build" in a tag (core/reference.hpp, legal_tag).
    if (auto underscore = tag.find('_'); underscore != std::string_view::npos) {
        if (!valid_prerelease(tag.substr(underscore + 1)))
            return false;
        tag = tag.substr(0, underscore);
    }
    auto dash = tag.find('-');
    auto core = tag.substr(0, dash);
    for (int part = 0; part < 3; ++part) {
        auto dot = core.find('.');
        if ((part < 2) == (dot == std::string_view::npos))
            return false;
        if (!numeric_identifier(core.substr(0, dot)))
            return false;
        core = dot == std::string_view::npos ? std::string_view() : core.substr(dot + 1);
    }
    return dash == std::string_view::npos || valid_prerelease(tag.substr(dash + 1));
}

bool is_environment_tag(std::string_view tag) {
    if (tag == "latest")
        return true;
    for (auto env : environments)
        if (tag == env)
            return true;
    return !environment_suffix(tag).empty() && is_semver_tag(tag.substr(0, tag.rfind('-')));
}

bool is_immutable_tag(std::string_view tag) {
    return is_semver_tag(tag) && !is_environment_tag(tag);
}

} // namespace floe::artifact
