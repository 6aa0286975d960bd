#include "floe/core/json_writer.hpp"

#include <fmt/format.h>

namespace floe::json {

void append_string(std::string& out, std::string_view s) {
    out.push_back('"');
    for (std::size_t i = 0; i < s.size(); ++i) {
        auto c = static_cast<unsigned char>(s[i]);
        // C1 controls (U+0080..U+009F) escaped too: some terminals act on them.
        if (c == 0xC2 && i + 1 < s.size() && static_cast<unsigned char>(s[i + 1]) < 0xA0 &&
            static_cast<unsigned char>(s[i + 1]) >= 0x80) {
            out += fmt::format("\\u{:04x}", static_cast<unsigned char>(s[++i]));
            continue;
        }
        switch (c) {
        case '"':
            out += "\\\"";
            break;
        case '\\':
            out += "\\\\";
            break;
        case '\n':
            out += "\\n";
            break;
        case '\r':
            out += "\\r";
            break;
        case '\t':
            out += "\\t";
            break;
        case '\b':
            out += "\\b";
            break;
        case '\f':
            out += "\\f";
            break;
        default:
            if (c < 0x20 || c == 0x7f)
                out += fmt::format("\\u{:04x}", c);
            else
                out.push_back(static_cast<char>(c));
        }
    }
    out.push_back('"');
}

void Writer::separate() {
    if (need_comma_)
        out_.push_back(',');
    need_comma_ = true;
}

Writer& Writer::begin_object() {
    separate();
    out_.push_back('{');
    need_comma_ = false;
    return *this;
}
Writer& Writer::end_object() {
    out_.push_back('}');
    need_comma_ = true;
    return *this;
}
Writer& Writer::begin_array() {
    separate();
    out_.push_back('[');
    need_comma_ = false;
    return *this;
}
Writer& Writer::end_array() {
    out_.push_back(']');
    need_comma_ = true;
    return *this;
}
Writer& Writer::key(std::string_view k) {
    separate();
    append_string(out_, k);
    out_.push_back(':');
    need_comma_ = false;
    return *this;
}
Writer& Writer::value(std::string_view s) {
    separate();
    append_string(out_, s);
    return *this;
}
Writer& Writer::value(std::int64_t n) {
    separate();
    out_ += fmt::format("{}", n);
    return *this;
}
Writer& Writer::value(std::uint64_t n) {
    separate();
    out_ += fmt::format("{}", n);
    return *this;
}
Writer& Writer::value(double d) {
    separate();
    out_ += fmt::format("{}", d);
    return *this;
}
Writer& Writer::value(bool b) {
    separate();
    out_ += b ? "true" : "false";
    return *this;
}
Writer& Writer::null() {
    separate();
    out_ += "null";
    return *this;
}

} // namespace floe::json
