// A minimal JSON writer: escapes strings correctly and writes fields in the order given, so the
// same input always yields the same bytes (manifests depend on that).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace floe::json {

void append_string(std::string& out, std::string_view s);

class Writer {
  public:
    Writer& begin_object();
    Writer& end_object();
    Writer& begin_array();
    Writer& end_array();
    Writer& key(std::string_view k);
    Writer& value(std::string_view s);
    Writer& value(const char* s) { return value(std::string_view(s)); }
    Writer& value(std::int64_t n);
    Writer& value(std::uint64_t n);
    Writer& value(int n) { return value(static_cast<std::int64_t>(n)); }
    Writer& value(double d);
    Writer& value(bool b);
    Writer& null();
    const std::string& str() const { return out_; }
    std::string take() { return std::move(out_); }

  private:
    void separate();
    std::string out_;
    bool need_comma_ = false;
};

} // namespace floe::json
