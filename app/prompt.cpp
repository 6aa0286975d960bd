#include "prompt.hpp"

#include "floe/core/error.hpp"

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <iostream>
#include <iterator>
#include <termios.h>
#include <unistd.h>

namespace floe::cli {
namespace {

int tty_fd = -1;
termios saved_mode{};

// A Ctrl-C at the prompt must not leave the user's terminal without echo.
void restore_and_exit(int signal) {
    if (tty_fd >= 0)
        ::tcsetattr(tty_fd, TCSAFLUSH, &saved_mode);
    ::write(2, "\n", 1);
    ::_exit(128 + signal);
}

std::string trim_line_break(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r'))
        s.pop_back();
    return s;
}

} // namespace

std::string read_secret_from_stdin() {
    std::string all((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
    auto secret = trim_line_break(std::move(all));
    if (secret.empty())
        fail(Errc::invalid_argument, "--password-stdin read nothing; pipe the password in, "
                                     "e.g. printf %s \"$TOKEN\" | floe login ...");
    return secret;
}

std::string prompt_on_terminal(const std::string& prompt, bool hidden) {
    int fd = ::open("/dev/tty", O_RDWR | O_CLOEXEC);
    if (fd < 0)
        fail(Errc::invalid_argument,
             "no terminal to ask on; give --username and pipe the password to --password-stdin");
    ::write(fd, prompt.data(), prompt.size());
    termios mode{};
    bool changed = false;
    if (hidden && ::tcgetattr(fd, &mode) == 0) {
        saved_mode = mode;
        tty_fd = fd;
        std::signal(SIGINT, restore_and_exit);
        std::signal(SIGTERM, restore_and_exit);
        mode.c_lflag &= ~static_cast<tcflag_t>(ECHO);
        changed = ::tcsetattr(fd, TCSAFLUSH, &mode) == 0;
    }
    std::string line;
    char c = 0;
    while (true) {
        auto n = ::read(fd, &c, 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || c == '\n')
            break;
        line += c;
    }
    if (changed) {
        ::tcsetattr(fd, TCSAFLUSH, &saved_mode);
        ::write(fd, "\n", 1);
    }
    tty_fd = -1;
    std::signal(SIGINT, SIG_DFL);
    std::signal(SIGTERM, SIG_DFL);
    ::close(fd);
    return trim_line_break(std::move(line));
}

} // namespace floe::cli
