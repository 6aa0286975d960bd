#include "floe/core/reference.hpp"

#include "floe/core/error.hpp"

#include <cctype>

namespace floe {
namespace {

bool is_lower_alnum(char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool is_valid_component(std::string_view c) {
    if (c.empty() || !is_lower_alnum(c.front()) || !is_lower_alnum(c.back()))
        return false;
    for (std::size_t i = 0; i < c.size();) {
        if (is_lower_alnum(c[i])) {
            ++i;
            continue;
        }
        // a separator: ".", "_", "__" or a run of "-"
        std::size_t j = i;
        if (c[i] == '.') {
            j = i + 1;
        } else if (c[i] == '_') {
            j = i + 1;
            if (j < c.size() && c[j] == '_')
                ++j;
        } else if (c[i] == '-') {
            while (j < c.size() && c[j] == '-')
                ++j;
        } else {
            return false;
        }
        if (j >= c.size() || !is_lower_alnum(c[j]))
            return false;
        i = j;
    }
    return true;
}

bool looks_like_host(std::string_view first) {
    return first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos ||
           first == "localhost";
}

bool is_valid_host(std::string_view host) {
    if (host.empty())
        return false;
    // [v6]:port is accepted as written; otherwise host chars and an optional numeric port.
    std::string_view name = host, port;
    if (host.front() == '[') {
        auto close = host.find(']');
        if (close == std::string_view::npos)
            return false;
        name = host.substr(0, close + 1);
        auto rest = host.substr(close + 1);
        if (!rest.empty()) {
            if (rest.front() != ':')
                return false;
            port = rest.substr(1);
        }
    } else {
        auto colon = host.rfind(':');
        if (colon != std::string_view::npos) {
            name = host.substr(0, colon);
            port = host.substr(colon + 1);
            if (port.empty())
                return false;
        }
        // Dot-separated labels of letters, digits and inner hyphens: no "", ".", "..", "-a".
        std::size_t start = 0;
        while (start <= name.size()) {
            auto dot = name.find('.', start);
            auto label =
                name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
            if (label.empty() || label.front() == '-' || label.back() == '-')
                return false;
            for (char c : label)
                if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-'))
                    return false;
            if (dot == std::string_view::npos)
                break;
            start = dot + 1;
        }
    }
    if (name.front() == '[') { // an IPv6 address: hex digits, colons and dots only
        auto inside = name.substr(1, name.size() - 2);
        if (inside.empty())
            return false;
        for (char c : inside)
            if (!(std::isxdigit(static_cast<unsigned char>(c)) || c == ':' || c == '.'))
                return false;
    }
    if (host.front() == '[' && host.back() == ':')
        return false; // "[::1]:" with an empty port
    unsigned long number = 0;
    for (char c : port) {
        if (c < '0' || c > '9')
            return false;
        number = number * 10 + static_cast<unsigned long>(c - '0');
        if (number > 65535)
            return false;
    }
    return !name.empty() && (port.empty() || number > 0);
}

[[noreturn]] void bad(std::string_view text, const std::string& why) {
    fail(Errc::invalid_reference,
         "invalid reference '" + std::string(text.substr(0, 200)) + "': " + why);
}

// Splits "<name>[:tag][@digest]" (the name may not contain '@'; a ':' after the last '/' is a tag).
void split_selector(std::string_view text, std::string_view& rest, Reference& ref) {
    auto at = rest.rfind('@');
    if (at != std::string_view::npos) {
        auto d = rest.substr(at + 1);
        if (!Digest::is_valid(d))
            bad(text, "'" + std::string(d) + "' is not a digest (want sha256:<64 hex>)");
        ref.digest = Digest::parse(d);
        rest = rest.substr(0, at);
    }
    auto slash = rest.rfind('/');
    auto colon = rest.rfind(':');
    if (colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
        auto mapped = legal_tag(rest.substr(colon + 1));
        std::string_view t = mapped;
        if (!is_valid_tag(t))
            bad(text, "'" + std::string(t) +
                          "' is not a valid tag (letters, digits, '_', '.', '-'; at most 128; "
                          "'+' is not allowed)");
        ref.tag = std::string(t);
        rest = rest.substr(0, colon);
    }
}

} // namespace

std::string legal_tag(std::string_view tag) {
    auto plus = tag.find('+');
    if (plus == std::string_view::npos || tag.find('+', plus + 1) != std::string_view::npos)
        return std::string(tag);
    // Before the '+': [v]MAJOR.MINOR.PATCH[-pre-release]; after it: dot-separated [0-9A-Za-z-].
    auto version = tag.substr(0, plus), build = tag.substr(plus + 1);
    if (version.starts_with('v'))
        version.remove_prefix(1);
    auto core = version.substr(0, version.find('-'));
    int dots = 0;
    for (char c : core) {
        if (c == '.')
            ++dots;
        else if (c < '0' || c > '9')
            return std::string(tag);
    }
    bool build_ok = !build.empty() && build.front() != '.' && build.back() != '.';
    for (char c : build)
        build_ok =
            build_ok && (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-');
    if (dots != 2 || core.front() == '.' || core.back() == '.' ||
        core.find("..") != std::string_view::npos || !build_ok)
        return std::string(tag);
    std::string out(tag);
    out[plus] = '_';
    return out;
}

bool is_valid_tag(std::string_view tag) noexcept {
    if (tag.empty() || tag.size() > 128)
        return false;
    auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    if (!word(tag.front()))
        return false;
    for (char c : tag)
        if (!(word(c) || c == '.' || c == '-'))
            return false;
    return true;
}

bool is_valid_repository(std::string_view name) noexcept {
    if (name.empty() || name.size() > 255)
        return false;
    std::size_t start = 0;
    while (true) {
        auto slash = name.find('/', start);
        auto comp = name.substr(start, slash == std::string_view::npos ? name.npos : slash - start);
        if (!is_valid_component(comp))
            return false;
        if (slash == std::string_view::npos)
            return true;
        start = slash + 1;
    }
}

Reference Reference::parse(std::string_view text) {
    Reference ref;
    std::string_view rest = text;
    if (rest.empty())
        bad(text, "empty; expected host/repository[:tag][@digest] or ocidir://PATH[:tag]");
    if (rest.starts_with("ocidir://")) {
        ref.kind = Kind::layout;
        rest.remove_prefix(9);
        split_selector(text, rest, ref);
        if (rest.empty())
            bad(text, "ocidir:// needs a directory path");
        ref.path = std::string(rest);
        return ref;
    }
    for (std::string_view scheme : {"oci://", "docker://"})
        if (rest.starts_with(scheme))
            rest.remove_prefix(scheme.size());
    if (rest.find("://") != std::string_view::npos)
        bad(text, "unknown scheme; use oci://host/repo or ocidir://PATH");

    split_selector(text, rest, ref);
    auto slash = rest.find('/');
    if (slash == std::string_view::npos && looks_like_host(rest) && rest.find('.') != rest.npos)
        bad(text, "no repository after the registry host; expected host[:port]/repository[:tag]");
    if (slash == std::string_view::npos && rest == "localhost")
        bad(text, "no repository after the registry host; expected host[:port]/repository[:tag]");
    if (slash != std::string_view::npos && looks_like_host(rest.substr(0, slash))) {
        ref.registry = std::string(rest.substr(0, slash));
        rest = rest.substr(slash + 1);
        if (!is_valid_host(ref.registry))
            bad(text, "'" + ref.registry + "' is not a valid registry host[:port]");
    } else {
        ref.registry = "docker.io";
    }
    if (ref.registry == "index.docker.io" || ref.registry == "registry-1.docker.io")
        ref.registry = "docker.io";
    if (ref.registry == "docker.io" && rest.find('/') == std::string_view::npos)
        ref.repository = "library/" + std::string(rest);
    else
        ref.repository = std::string(rest);
    if (!is_valid_repository(ref.repository))
        bad(text, "repository '" + ref.repository +
                      "' must be lowercase path components (a-z, 0-9, '.', '_', '-')");
    return ref;
}

std::string Reference::selector() const {
    if (digest)
        return digest->str();
    return tag.empty() ? "latest" : tag;
}

std::string Reference::api_host() const {
    return registry == "docker.io" ? "registry-1.docker.io" : registry;
}

std::string Reference::str() const {
    std::string out = is_layout() ? "ocidir://" + path : registry + "/" + repository;
    if (!tag.empty())
        out.append(":").append(tag);
    if (digest)
        out.append("@").append(digest->str());
    return out;
}

} // namespace floe
