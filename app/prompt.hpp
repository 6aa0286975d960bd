// Reading a secret from the user: from stdin (--password-stdin, for scripts and CI) or typed at
// the terminal without echo. Never from a flag value, which other users can read in the
// process list and which lands in shell history.
#pragma once

#include <string>

namespace floe::cli {

// All of stdin without its final line break; fails when it is empty.
std::string read_secret_from_stdin();
// Prints `prompt` on the terminal and reads one line from it with echo off (the terminal is
// restored on every path, Ctrl-C included); fails when there is no terminal.
std::string prompt_on_terminal(const std::string& prompt, bool hidden);

} // namespace floe::cli
