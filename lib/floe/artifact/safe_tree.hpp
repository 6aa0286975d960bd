// A directory tree written only through file descriptors. Every path component is opened
// relative to its parent with O_NOFOLLOW, so no symlink is ever followed while writing, whatever
// the tree already holds (a chain of links that is lexically inside can point anywhere). Names
// are checked (check_relative_name) before anything is touched. Pulls stage every layer in one
// and then move the results into the output directory through another.
#pragma once

#include "floe/core/fd.hpp"

#include <filesystem>
#include <string>
#include <string_view>
#include <sys/types.h>
#include <utility>
#include <vector>

namespace floe::artifact {

using floe::Fd;

class SafeTree {
  public:
    // Opens `root` (created when missing); it must be a real directory, not a link to one.
    explicit SafeTree(const std::filesystem::path& root);

    const std::filesystem::path& root() const { return root_; }
    int root_fd() const { return root_fd_.get(); }

    // The directory that holds `name`'s last component, opened without following links
    // (missing directories created when `create`), and that component. Throws unsafe_path
    // when a component on the way is a symlink or not a directory.
    std::pair<Fd, std::string> parent_of(std::string_view name, bool create) const;

    void make_directories(std::string_view name, mode_t mode = 0755) const;
    // Creates the missing parent directories of `name`; returns those it created, outermost
    // first (so that a rollback can remove them).
    std::vector<std::string> make_parents(std::string_view name) const;
    // A new regular file; fails (unsafe_path) when `name` exists in any form.
    Fd create_file(std::string_view name, mode_t mode) const;
    // A hard link to a regular file already in the tree.
    void link_file(std::string_view name, std::string_view existing) const;
    // A symlink, created only when `target`, followed from `name`'s directory through the tree
    // as it stands, stays inside the tree.
    void symlink(std::string_view name, std::string_view target) const;
    // Whether following `target` from the directory of `name` stays inside the tree, with the
    // tree's own links followed (at most 40 of them).
    bool resolves_inside(std::string_view name, std::string_view target) const;
    // Checks every symlink in the tree (a later link can change where an earlier one leads);
    // throws unsafe_path for the first that leaves it.
    void verify_links() const;

  private:
    std::filesystem::path root_;
    Fd root_fd_;
};

} // namespace floe::artifact
