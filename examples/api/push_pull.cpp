// The library without the CLI: push a data product into a local OCI layout, inspect it, pull it
// back. Built and run by the test suite (against the installed headers and pkg-config file too).
//
//   usage: push_pull <compiled_artifacts.json> <work-dir>
#include <floe/client.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
    if (argc != 3) {
        std::fprintf(stderr, "usage: %s <compiled_artifacts.json> <work-dir>\n", argv[0]);
        return 2;
    }
    const std::string work = argv[2];
    try {
        floe::Client client; // registry credentials would come from FLOE_REGISTRY_* here
        auto ref = floe::Reference::parse("ocidir://" + work + "/store:1.4.0");

        floe::PushOptions push;
        push.paths = {argv[1]};
        push.annotations["team"] = "analytics";
        auto pushed = client.push(ref, push);
        std::printf("pushed %s\n", pushed.manifest.digest.str().c_str());

        auto info = client.inspect(ref);
        std::printf("product %s %s, %zu layer(s)\n",
                    info.manifest->annotations.at("io.floe.product.name").c_str(),
                    info.manifest->annotations.at("io.floe.product.version").c_str(),
                    info.manifest->layers.size());

        auto pulled = client.pull(ref, work + "/pulled");
        for (auto& item : pulled.items)
            std::printf("pulled %s\n", item.path.c_str());
        return pulled.manifest.digest == pushed.manifest.digest ? 0 : 1;
    } catch (const floe::Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what()); // one line, no credentials
        return 1;
    }
}
