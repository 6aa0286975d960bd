// A program that compiles Asio itself (BOOST_ASIO_SEPARATE_COMPILATION, with asio_src.cpp as
// its one source of Asio) and also uses floe's facade. scripts/test.sh builds it against the
// installed library: floe's own compiled Asio must not clash with the program's at link time.
//
//   usage: asio_consumer <compiled_artifacts.json> <work-dir>
#include <floe/client.hpp>

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <compiled_artifacts.json> <work-dir>\n", argv[0]);
        return 2;
    }
    boost::asio::io_context ioc; // the program's own event loop, from its own Asio
    std::string digest;
    boost::asio::post(ioc, [&] {
        floe::Client client;
        floe::PushOptions push;
        push.paths = {argv[1]};
        auto ref = floe::Reference::parse("ocidir://" + std::string(argv[2]) + "/store:1.0.0");
        digest = client.push(ref, push).manifest.digest.str();
    });
    try {
        ioc.run();
    } catch (const floe::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 1;
    }
    std::printf("pushed %s\n", digest.c_str());
    return digest.empty() ? 1 : 0;
}
