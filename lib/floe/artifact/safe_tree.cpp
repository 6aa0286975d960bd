#include "floe/artifact/safe_tree.hpp"

#include "floe/artifact/safe_path.hpp"
#include "floe/core/error.hpp"

#include <cerrno>
#include <cstring>
#include <deque>
#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace floe::artifact {

namespace {

std::vector<std::string> components(std::string_view path) {
    std::vector<std::string> out;
    std::size_t start = 0;
    while (start <= path.size()) {
        auto slash = path.find('/', start);
        auto part = path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
        if (!part.empty())
            out.emplace_back(part);
        if (slash == std::string_view::npos)
            break;
        start = slash + 1;
    }
    return out;
}

[[noreturn]] void refuse(std::string_view name, const std::string& why) {
    fail(Errc::unsafe_path, "'" + std::string(name.substr(0, 200)) + "' is refused: " + why +
                                " (the artifact is unsafe to unpack)");
}

[[noreturn]] void io_failure(std::string_view what, std::string_view name) {
    fail(Errc::io,
         std::string(what) + " " + std::string(name.substr(0, 200)) + ": " + std::strerror(errno));
}

// Opens directory `part` inside `dir` without following a link.
Fd open_dir(int dir, const std::string& part) {
    return Fd(::openat(dir, part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
}

} // namespace

SafeTree::SafeTree(const std::filesystem::path& root) : root_(root) {
    if (::mkdir(root.c_str(), 0755) != 0 && errno != EEXIST)
        io_failure("cannot create", root.string());
    root_fd_ = Fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!root_fd_)
        io_failure("cannot open directory", root.string());
}

std::pair<Fd, std::string> SafeTree::parent_of(std::string_view name, bool create) const {
    check_relative_name(name, "path");
    auto parts = components(name);
    Fd dir(::dup(root_fd_.get()));
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        auto next = open_dir(dir.get(), parts[i]);
        if (!next && errno == ENOENT && create) {
            if (::mkdirat(dir.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST)
                io_failure("cannot create directory", name);
            next = open_dir(dir.get(), parts[i]);
        }
        if (!next) {
            if (errno == ELOOP || errno == ENOTDIR)
                refuse(name, "'" + parts[i] + "' on its way is a symlink or not a directory");
            io_failure("cannot open directory", name);
        }
        dir = std::move(next);
    }
    return {std::move(dir), parts.back()};
}

std::vector<std::string> SafeTree::make_parents(std::string_view name) const {
    check_relative_name(name, "path");
    auto parts = components(name);
    std::vector<std::string> made;
    Fd dir(::dup(root_fd_.get()));
    std::string path;
    for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
        path += (path.empty() ? "" : "/") + parts[i];
        if (::mkdirat(dir.get(), parts[i].c_str(), 0755) == 0)
            made.push_back(path);
        else if (errno != EEXIST)
            io_failure("cannot create directory", name);
        auto next = open_dir(dir.get(), parts[i]);
        if (!next)
            refuse(name, "'" + parts[i] + "' on its way is a symlink or not a directory");
        dir = std::move(next);
    }
    return made;
}

void SafeTree::make_directories(std::string_view name, mode_t mode) const {
    auto [dir, leaf] = parent_of(name, true);
    if (::mkdirat(dir.get(), leaf.c_str(), mode | 0700) == 0)
        return;
    if (errno != EEXIST)
        io_failure("cannot create directory", name);
    struct stat st {};
    if (::fstatat(dir.get(), leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 || !S_ISDIR(st.st_mode))
        refuse(name, "it exists and is not a directory");
}

Fd SafeTree::create_file(std::string_view name, mode_t mode) const {
    auto [dir, leaf] = parent_of(name, true);
    Fd fd(::openat(dir.get(), leaf.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                   mode));
    if (!fd) {
        if (errno == EEXIST)
            refuse(name, "two entries write the same path");
        io_failure("cannot create", name);
    }
    return fd;
}

void SafeTree::link_file(std::string_view name, std::string_view existing) const {
    auto [from_dir, from_leaf] = parent_of(existing, false);
    struct stat st {};
    if (::fstatat(from_dir.get(), from_leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0 ||
        !S_ISREG(st.st_mode))
        refuse(name, "it is a hard link to '" + std::string(existing.substr(0, 200)) +
                         "', which is not a regular file extracted before it");
    auto [dir, leaf] = parent_of(name, true);
    if (::linkat(from_dir.get(), from_leaf.c_str(), dir.get(), leaf.c_str(), 0) != 0) {
        if (errno == EEXIST)
            refuse(name, "two entries write the same path");
        io_failure("cannot link", name);
    }
}

void SafeTree::symlink(std::string_view name, std::string_view target) const {
    if (!resolves_inside(name, target))
        refuse(name, "it is a symlink to '" + std::string(target.substr(0, 200)) +
                         "', which leads outside the output directory");
    auto [dir, leaf] = parent_of(name, true);
    if (::symlinkat(std::string(target).c_str(), dir.get(), leaf.c_str()) != 0) {
        if (errno == EEXIST)
            refuse(name, "two entries write the same path");
        io_failure("cannot create symlink", name);
    }
}

bool SafeTree::resolves_inside(std::string_view name, std::string_view target) const {
    if (target.empty() || target.front() == '/')
        return false;
    auto stack = components(name);
    stack.pop_back(); // resolution starts in the link's directory
    auto parts = components(target);
    std::deque<std::string> todo(parts.begin(), parts.end());
    int hops = 0;
    bool lexical = false; // past a missing or non-directory component: names only
    while (!todo.empty()) {
        auto part = std::move(todo.front());
        todo.pop_front();
        if (part == ".")
            continue;
        if (part == "..") {
            if (stack.empty())
                return false;
            stack.pop_back();
            continue;
        }
        stack.push_back(part);
        if (lexical)
            continue;
        // What is at stack/ in the tree? Walk it without following anything.
        Fd dir(::dup(root_fd_.get()));
        bool reachable = true;
        for (std::size_t i = 0; i + 1 < stack.size() && reachable; ++i) {
            auto next = open_dir(dir.get(), stack[i]);
            if (!next)
                reachable = false;
            else
                dir = std::move(next);
        }
        struct stat st {};
        if (!reachable ||
            ::fstatat(dir.get(), stack.back().c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
            lexical = true; // missing: what follows is only names
            continue;
        }
        if (S_ISLNK(st.st_mode)) {
            if (++hops > 40)
                return false;
            std::string link(4096, '\0');
            auto n = ::readlinkat(dir.get(), stack.back().c_str(), link.data(), link.size());
            if (n < 0)
                return false;
            link.resize(static_cast<std::size_t>(n));
            if (link.empty() || link.front() == '/')
                return false;
            stack.pop_back(); // the link's target is relative to the link's directory
            auto more = components(link);
            todo.insert(todo.begin(), more.begin(), more.end());
        } else if (!S_ISDIR(st.st_mode)) {
            lexical = true;
        }
    }
    return true;
}

void SafeTree::verify_links() const {
    // Depth-first over directories, never following a link.
    std::vector<std::pair<Fd, std::string>> pending;
    pending.emplace_back(Fd(::dup(root_fd_.get())), "");
    while (!pending.empty()) {
        auto [dir, prefix] = std::move(pending.back());
        pending.pop_back();
        int listing = ::dup(dir.get());
        DIR* d = listing < 0 ? nullptr : ::fdopendir(listing); // closedir() closes it
        if (!d) {
            if (listing >= 0)
                ::close(listing);
            io_failure("cannot list", root_.string() + "/" + prefix);
        }
        struct Closer {
            DIR* d;
            ~Closer() { ::closedir(d); }
        } closer{d};
        ::rewinddir(d);
        while (auto* e = ::readdir(d)) {
            std::string entry = e->d_name;
            if (entry == "." || entry == "..")
                continue;
            auto path = prefix.empty() ? entry : prefix + "/" + entry;
            struct stat st {};
            if (::fstatat(dir.get(), entry.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
                continue;
            if (S_ISDIR(st.st_mode)) {
                auto sub = open_dir(dir.get(), entry);
                if (sub)
                    pending.emplace_back(std::move(sub), path);
            } else if (S_ISLNK(st.st_mode)) {
                std::string link(4096, '\0');
                auto n = ::readlinkat(dir.get(), entry.c_str(), link.data(), link.size());
                if (n < 0)
                    io_failure("cannot read symlink", path);
                link.resize(static_cast<std::size_t>(n));
                if (!resolves_inside(path, link))
                    refuse(path, "it is a symlink to '" + link.substr(0, 200) +
                                     "', which leads outside the output directory");
            }
        }
    }
}

} // namespace floe::artifact
