#include "floe/core/printable.hpp"

#include <algorithm>
#include <mutex>
#include <set>
#include <vector>

namespace floe {

namespace {

// Length of the valid UTF-8 sequence at s[i] (0 when invalid), C1 controls counting as invalid.
std::size_t utf8_length(std::string_view s, std::size_t i) {
    auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || i + n > s.size())
        return 0;
    for (std::size_t k = 1; k < n; ++k)
        if ((static_cast<unsigned char>(s[i + k]) & 0xC0) != 0x80)
            return 0;
    if (c == 0xC2 && static_cast<unsigned char>(s[i + 1]) < 0xA0)
        return 0; // U+0080..U+009F: C1 controls (CSI among them)
    return n;
}

struct Secrets {
    std::mutex mutex;
    std::set<std::string, std::greater<>> values; // longest first where one contains another
};

Secrets& secrets() {
    static Secrets s;
    return s;
}

} // namespace

std::string printable(std::string_view text) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    out.reserve(text.size());
    for (std::size_t i = 0; i < text.size();) {
        auto c = static_cast<unsigned char>(text[i]);
        if (c >= 0x20 && c < 0x7f) {
            out += static_cast<char>(c);
            ++i;
            continue;
        }
        if (c >= 0x80) {
            if (auto n = utf8_length(text, i)) {
                out.append(text.substr(i, n));
                i += n;
                continue;
            }
        }
        out += "\\x";
        out += hex[c >> 4];
        out += hex[c & 15];
        ++i;
    }
    return out;
}

void remember_secret(std::string_view secret) {
    if (secret.size() < 4)
        return;
    auto& s = secrets();
    std::lock_guard lock(s.mutex);
    s.values.emplace(secret);
}

std::string redact_secrets(std::string_view text) {
    std::string out(text);
    auto& s = secrets();
    std::lock_guard lock(s.mutex);
    // Longer values first: a token that contains a shorter secret is hidden whole.
    std::vector<const std::string*> order;
    for (auto& v : s.values)
        order.push_back(&v);
    std::sort(order.begin(), order.end(), [](auto* a, auto* b) { return a->size() > b->size(); });
    for (auto* v : order)
        for (auto at = out.find(*v); at != std::string::npos; at = out.find(*v, at))
            out.replace(at, v->size(), "<redacted>");
    return out;
}

std::string redact_query(std::string_view query) {
    static constexpr std::string_view keep[] = {"digest", "mount",   "from",  "n",
                                                "last",   "service", "scope", "artifactType"};
    std::string out;
    while (!query.empty()) {
        auto amp = query.find('&');
        auto pair = query.substr(0, amp);
        auto name = pair.substr(0, pair.find('='));
        if (!out.empty())
            out += '&';
        bool harmless = std::find(std::begin(keep), std::end(keep), name) != std::end(keep);
        out += harmless ? std::string(pair) : std::string(name) + "=<redacted>";
        if (amp == std::string_view::npos)
            break;
        query.remove_prefix(amp + 1);
    }
    return out;
}

std::string redact_urls(std::string_view text) {
    std::string out;
    std::size_t i = 0;
    while (i < text.size()) {
        auto http = text.find("http", i);
        if (http == std::string_view::npos) {
            out.append(text.substr(i));
            break;
        }
        auto rest = text.substr(http);
        if (!rest.starts_with("http://") && !rest.starts_with("https://")) {
            out.append(text.substr(i, http - i + 4));
            i = http + 4;
            continue;
        }
        // The URL runs to the next space, quote or angle bracket (a "<redacted>" already in it
        // is part of it).
        auto end = http;
        while (end < text.size()) {
            if (text.substr(end).starts_with("<redacted>")) {
                end += 10;
                continue;
            }
            if (std::string_view(" \t\"'<>)").find(text[end]) != std::string_view::npos)
                break;
            ++end;
        }
        auto url = text.substr(http, end - http);
        out.append(text.substr(i, http - i));
        if (auto q = url.find('?'); q != std::string_view::npos) {
            out.append(url.substr(0, q));
            out += '?';
            out += redact_query(url.substr(q + 1));
        } else {
            out.append(url);
        }
        i = end;
    }
    return out;
}

std::string scrub(std::string_view text) {
    return printable(redact_urls(redact_secrets(text)));
}

} // namespace floe
