#include "floe/core/base64.hpp"

#include <array>
#include <cstdint>

namespace floe {
namespace {

constexpr std::string_view standard =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
constexpr std::string_view url_safe =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

std::string encode(std::string_view in, std::string_view alphabet, bool pad) {
    std::string out;
    out.reserve((in.size() + 2) / 3 * 4);
    std::size_t i = 0;
    for (; i + 3 <= in.size(); i += 3) {
        std::uint32_t v =
            (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8) | std::uint8_t(in[i + 2]);
        for (int shift : {18, 12, 6, 0})
            out += alphabet[(v >> shift) & 63];
    }
    std::size_t rest = in.size() - i;
    if (rest) {
        std::uint32_t v = std::uint8_t(in[i]) << 16;
        if (rest == 2)
            v |= std::uint8_t(in[i + 1]) << 8;
        out += alphabet[(v >> 18) & 63];
        out += alphabet[(v >> 12) & 63];
        if (rest == 2)
            out += alphabet[(v >> 6) & 63];
        if (pad)
            out.append(3 - rest, '=');
    }
    return out;
}

std::optional<std::string> decode(std::string_view in, std::string_view alphabet,
                                  bool padding_required) {
    std::array<int, 256> value{};
    value.fill(-1);
    for (std::size_t k = 0; k < alphabet.size(); ++k)
        value[std::uint8_t(alphabet[k])] = static_cast<int>(k);
    std::size_t padding = 0;
    while (padding < 2 && padding < in.size() && in[in.size() - 1 - padding] == '=')
        ++padding;
    if (padding_required && in.size() % 4 != 0)
        return std::nullopt;
    if (!padding_required && padding && in.size() % 4 != 0)
        return std::nullopt;
    auto body = in.substr(0, in.size() - padding);
    if (body.size() % 4 == 1)
        return std::nullopt;
    std::string out;
    out.reserve(body.size() / 4 * 3 + 2);
    std::uint32_t acc = 0;
    int bits = 0;
    for (char c : body) {
        int v = value[std::uint8_t(c)];
        if (v < 0)
            return std::nullopt;
        acc = (acc << 6) | static_cast<std::uint32_t>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((acc >> bits) & 0xff);
        }
    }
    // Leftover bits must be zero, so each text has exactly one decoding.
    if (bits && (acc & ((1u << bits) - 1)))
        return std::nullopt;
    return out;
}

} // namespace

std::string base64_encode(std::string_view in) {
    return encode(in, standard, true);
}
std::optional<std::string> base64_decode(std::string_view in) {
    return decode(in, standard, true);
}
std::string base64url_encode(std::string_view in) {
    return encode(in, url_safe, false);
}
std::optional<std::string> base64url_decode(std::string_view in) {
    return decode(in, url_safe, false);
}

} // namespace floe
