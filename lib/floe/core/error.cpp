#include "floe/core/error.hpp"

namespace floe {
namespace {

class Category final : public std::error_category {
  public:
    const char* name() const noexcept override { return "floe"; }
    std::string message(int value) const override {
        switch (static_cast<Errc>(value)) {
        case Errc::ok:
            return "ok";
        case Errc::invalid_argument:
            return "invalid argument";
        case Errc::invalid_reference:
            return "invalid reference";
        case Errc::not_found:
            return "not found";
        case Errc::unauthorized:
            return "authentication failed";
        case Errc::denied:
            return "access denied";
        case Errc::verification_failed:
            return "verification failed";
        case Errc::network:
            return "network error";
        case Errc::protocol:
            return "protocol error";
        case Errc::registry:
            return "registry error";
        case Errc::invalid_artifact:
            return "invalid artifact";
        case Errc::unsafe_path:
            return "unsafe path";
        case Errc::io:
            return "file system error";
        case Errc::conflict:
            return "conflict";
        case Errc::too_large:
            return "too large";
        case Errc::unsupported:
            return "unsupported";
        case Errc::cancelled:
            return "cancelled";
        }
        return "unknown error";
    }
};

} // namespace

const std::error_category& error_category() noexcept {
    static const Category category;
    return category;
}

std::error_code make_error_code(Errc e) noexcept {
    return {static_cast<int>(e), error_category()};
}

// std::system_error appends ": <category message>" to what(); we keep the message exactly as
// written so the CLI can print one clean line.
Error::Error(Errc code, const std::string& message, Diagnostics diag)
    : std::system_error(make_error_code(code)), diag_(std::move(diag)), message_(message) {}

void fail(Errc code, const std::string& message, Diagnostics diag) {
    throw Error(code, message, std::move(diag));
}

} // namespace floe
