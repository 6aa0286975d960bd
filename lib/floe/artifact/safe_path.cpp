#include "floe/artifact/safe_path.hpp"

#include "floe/core/error.hpp"
#include "floe/core/printable.hpp"

namespace floe::artifact {
namespace fs = std::filesystem;

bool has_control_characters(std::string_view name) {
    for (unsigned char c : name)
        if (c < 0x20 || c == 0x7f)
            return true;
    return false;
}

void check_relative_name(std::string_view name, std::string_view what) {
    auto bad = [&](const char* why) {
        fail(Errc::unsafe_path, std::string(what) + " '" + printable(name.substr(0, 200)) +
                                    "' is refused: " + why + " (the artifact is unsafe to unpack)");
    };
    if (name.empty())
        bad("it is empty");
    if (name.find('\0') != std::string_view::npos)
        bad("it contains a NUL byte");
    if (has_control_characters(name))
        bad("it contains control characters");
    if (name.front() == '/')
        bad("it is an absolute path");
    if (name.find('\\') != std::string_view::npos)
        bad("it contains a backslash");
    std::size_t start = 0;
    while (start <= name.size()) {
        auto slash = name.find('/', start);
        auto comp = name.substr(start, slash == std::string_view::npos ? name.npos : slash - start);
        if (comp == "..")
            bad("it contains '..'");
        if (comp.empty() && slash != std::string_view::npos && slash + 1 < name.size())
            bad("it contains an empty path component");
        if (comp == "." && name != ".")
            bad("it contains a '.' component");
        if (slash == std::string_view::npos)
            break;
        start = slash + 1;
    }
    if (name == ".")
        bad("it names the output directory itself");
}

fs::path safe_join(const fs::path& root, std::string_view name, std::string_view what) {
    check_relative_name(name, what);
    fs::path rel(name);
    fs::path cur = root;
    for (auto it = rel.begin(); it != rel.end(); ++it) {
        if (it->empty())
            continue;
        cur /= *it;
        std::error_code ec;
        if (fs::is_symlink(fs::symlink_status(cur, ec)))
            fail(Errc::unsafe_path,
                 std::string(what) + " '" + std::string(name) + "' is refused: " + cur.string() +
                     " is a symlink (it could lead outside " + root.string() + ")");
    }
    return root / rel;
}

} // namespace floe::artifact
