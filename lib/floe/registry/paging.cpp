#include "floe/registry/paging.hpp"

#include <cctype>

namespace floe::registry {
namespace {

std::string_view trim(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
        s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
        s.remove_suffix(1);
    return s;
}

bool iequals(std::string_view a, std::string_view b) {
    if (a.size() != b.size())
        return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (std::tolower(static_cast<unsigned char>(a[i])) !=
            std::tolower(static_cast<unsigned char>(b[i])))
            return false;
    return true;
}

// rel="next prev" or rel=next: whether "next" is among the space-separated values.
bool rel_has_next(std::string_view value) {
    if (value.size() >= 2 && value.front() == '"' && value.back() == '"')
        value = value.substr(1, value.size() - 2);
    while (!value.empty()) {
        auto space = value.find(' ');
        if (iequals(value.substr(0, space), "next"))
            return true;
        if (space == std::string_view::npos)
            break;
        value.remove_prefix(space + 1);
    }
    return false;
}

} // namespace

std::optional<std::string> next_link(std::string_view header) {
    std::size_t pos = 0;
    while (pos < header.size()) {
        auto open = header.find('<', pos);
        if (open == std::string_view::npos)
            return std::nullopt;
        auto close = header.find('>', open);
        if (close == std::string_view::npos)
            return std::nullopt;
        auto target = header.substr(open + 1, close - open - 1);
        // Parameters up to the next link (a ',' outside quotes) or the end.
        std::size_t i = close + 1;
        bool quoted = false;
        std::size_t end = header.size();
        for (; i < header.size(); ++i) {
            if (header[i] == '"')
                quoted = !quoted;
            else if (header[i] == ',' && !quoted) {
                end = i;
                break;
            }
        }
        auto params = header.substr(close + 1, end - close - 1);
        while (!params.empty()) {
            auto semi = params.find(';');
            auto param = trim(params.substr(0, semi));
            params = semi == std::string_view::npos ? std::string_view() : params.substr(semi + 1);
            auto eq = param.find('=');
            if (eq == std::string_view::npos)
                continue;
            if (iequals(trim(param.substr(0, eq)), "rel") &&
                rel_has_next(trim(param.substr(eq + 1))))
                return target.empty() ? std::nullopt : std::optional<std::string>(target);
        }
        pos = end + 1;
    }
    return std::nullopt;
}

} // namespace floe::registry
