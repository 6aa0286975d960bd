// Shared by the libFuzzer harnesses in this directory: an invariant that aborts (libFuzzer then
// saves the input as a crash), and a printable rendering of untrusted bytes for its message.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace floe_fuzz {

inline std::string printable(std::string_view s, std::size_t max = 300) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string out;
    for (std::size_t i = 0; i < s.size() && i < max; ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        if (c >= 0x20 && c < 0x7f && c != '\\') {
            out.push_back(static_cast<char>(c));
        } else {
            out += "\\x";
            out.push_back(hex[c >> 4]);
            out.push_back(hex[c & 15]);
        }
    }
    if (s.size() > max)
        out += "...";
    return out;
}

[[noreturn]] inline void failed(const char* file, int line, const char* expr,
                                const std::string& detail) {
    std::fprintf(stderr, "\n==== fuzz invariant violated at %s:%d\n     %s\n     %s\n", file, line,
                 expr, detail.c_str());
    std::fflush(stderr);
    std::abort();
}

} // namespace floe_fuzz

// FUZZ_CHECK(condition, detail): detail is a std::string expression, evaluated only on failure.
#define FUZZ_CHECK(cond, detail)                                                                   \
    do {                                                                                           \
        if (!(cond))                                                                               \
            ::floe_fuzz::failed(__FILE__, __LINE__, #cond, (detail));                              \
    } while (0)
