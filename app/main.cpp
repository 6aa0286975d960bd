// The floe command: parses arguments (CLI11), calls the library, prints results, and maps
// failures to one line on stderr and a distinct exit code. No protocol logic lives here.
#include "exit_codes.hpp"
#include "output.hpp"
#include "progress_view.hpp"

#include "floe/core/byte_size.hpp"
#include "floe/core/printable.hpp"

#include "floe/client.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <unistd.h>

namespace {

using namespace floe;
using namespace floe::cli;

struct GlobalFlags {
    bool verbose = false;
    std::string ca_file;
    bool insecure = false;
    bool plain_http = false;
    int concurrency = 4;
    int timeout_seconds = 60;
    std::string limit_rate;
    std::string speed_limit = "1K";
    int speed_time = 30;
    std::string progress = "auto";
    bool fsync = false;
    std::string chunk_size;
    std::vector<std::string> mount_from;
    int range_parts = 1;
};

ClientOptions client_options(const GlobalFlags& g) {
    ClientOptions o;
    // The flags are the defaults for every registry.
    auto& r = o.registries.defaults;
    r.ca_file = g.ca_file;
    r.insecure_skip_tls_verify = g.insecure;
    r.plain_http = g.plain_http;
    r.concurrency = g.concurrency;
    if (!g.chunk_size.empty())
        r.chunk_size = parse_byte_size(g.chunk_size, "--chunk-size");
    r.mount_from = g.mount_from;
    o.timeout = std::chrono::seconds(g.timeout_seconds);
    if (!g.limit_rate.empty())
        o.limit_rate = parse_byte_size(g.limit_rate, "--limit-rate");
    o.speed_limit = parse_byte_size(g.speed_limit, "--speed-limit");
    o.speed_time = std::chrono::seconds(g.speed_time);
    o.durable = g.fsync;
    o.range_parts = g.range_parts;
    o.handle_interrupts = true;
    if (g.verbose)
        o.observer = [](const RequestEvent& e) {
            fmt::print(stderr, "floe: {}\n", request_line(e));
        };
    return o;
}

// What to do about an error, for the errors whose fix is the CLI's own configuration.
std::string hint_for(const Error& e) {
    if (e.errc() == Errc::unauthorized)
        return "; check FLOE_REGISTRY_USERNAME and FLOE_REGISTRY_PASSWORD (or FLOE_REGISTRY_TOKEN)";
    return {};
}

// One line, whatever the message holds.
std::string one_line(std::string s) {
    for (auto& c : s)
        if (c == '\n' || c == '\r')
            c = ' ';
    return s;
}

Annotations parse_annotations(const std::vector<std::string>& items) {
    Annotations out;
    for (auto& item : items) {
        auto eq = item.find('=');
        if (eq == std::string::npos || eq == 0)
            fail(Errc::invalid_argument, "--annotation '" + item + "' must be key=value");
        out[item.substr(0, eq)] = item.substr(eq + 1);
    }
    return out;
}

const char* reference_help =
    "REF is [oci://]host[:port]/repository[:tag][@digest] for a registry (docker.io names like "
    "'team/product:1.0' work too), or ocidir://PATH[:tag][@digest] for a local OCI image layout.";

} // namespace

int main(int argc, char** argv) {
    CLI::App app{"floe: package data products, pipelines and configuration as OCI artifacts and "
                 "move them through OCI registries."};
    app.require_subcommand(1);
    app.footer(
        std::string("\n") + reference_help +
        "\n\nCredentials: FLOE_REGISTRY_USERNAME and FLOE_REGISTRY_PASSWORD, or "
        "FLOE_REGISTRY_TOKEN.\nExit codes: 0 ok, 1 other failure, 2 usage, 3 not found, "
        "4 authentication, 5 verification, 6 network, 7 invalid input, 8 conflict, 9 local I/O, "
        "130 interrupted (run again to continue).");
    GlobalFlags g;
    app.add_flag("-v,--verbose", g.verbose,
                 "Log each HTTP request to stderr (credentials redacted)");
    app.add_option("--ca-file", g.ca_file, "Trust the CA certificates in this PEM file too")
        ->envname("FLOE_CA_FILE")
        ->check(CLI::ExistingFile);
    app.add_flag("--insecure", g.insecure,
                 "Skip TLS certificate verification (never in production)");
    app.add_flag("--plain-http", g.plain_http,
                 "Use http:// for registries (loopback hosts fall back to it by themselves)");
    app.add_option("--concurrency", g.concurrency, "Blobs in flight")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    app.add_option("--timeout", g.timeout_seconds, "Seconds to wait for a connection or any byte")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    app.add_option("--limit-rate", g.limit_rate,
                   "Cap all transfers together at this many bytes per second (800K, 50M, 1G)");
    app.add_option("--speed-limit", g.speed_limit,
                   "Give up on a transfer slower than this many bytes per second over "
                   "--speed-time (a trickling server)")
        ->capture_default_str();
    app.add_option("--speed-time", g.speed_time, "Seconds over which --speed-limit is measured")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    app.add_option("--progress", g.progress,
                   "auto (bars on a terminal, lines otherwise), tty, plain, json (JSON lines on "
                   "stderr) or none")
        ->capture_default_str();
    app.add_option("--chunk-size", g.chunk_size,
                   "Upload in chunks of this size (4M, 64M), for registries behind proxies that "
                   "refuse large bodies");
    app.add_option("--mount-from", g.mount_from,
                   "Link blobs from this repository of the same registry instead of uploading "
                   "them (repeatable)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    app.add_option("--range-parts", g.range_parts,
                   "Fetch each blob of 64 MiB or more as this many concurrent ranges (long, "
                   "window-limited links)")
        ->check(CLI::Range(1, 16))
        ->capture_default_str();
    app.add_flag("--fsync", g.fsync,
                 "Flush each file to disk before it gets its final name (survives power loss)");

    auto* artifact = app.add_subcommand("artifact", "Push, pull, inspect and copy artifacts");
    artifact->require_subcommand(1);

    // push
    std::string push_ref;
    std::vector<std::string> push_paths;
    std::vector<std::string> push_annotations;
    std::string push_type;
    bool push_zstd = false, push_json_out = false;
    auto* push =
        artifact->add_subcommand("push", "Push files, directories or a compiled data product");
    push->add_option("REF", push_ref, "Where to push (tag defaults to 'latest')")->required();
    push->add_option("PATH", push_paths,
                     "Files and directories (default: target/compiled_artifacts.json)");
    push->add_option("-a,--annotation", push_annotations,
                     "Manifest annotation key=value (repeatable)");
    push->add_option("--artifact-type", push_type, "Artifact type (default: detected)");
    std::string push_products;
    push->add_option("--products", push_products,
                     "Push every data product under this directory (each with "
                     "target/compiled_artifacts.json) to REF/<product_name>:<product_version>, "
                     "in one operation");
    push->add_flag("--zstd", push_zstd, "Compress directory layers with zstd instead of gzip");
    push->add_flag("--json", push_json_out, "Print the result as JSON");
    push->footer(
        "\nExamples:\n"
        "  floe artifact push registry.example.com/data/sales:1.4.0\n"
        "  floe artifact push ocidir://./store:dev target/compiled_artifacts.json models/\n"
        "  floe artifact push ghcr.io/acme/cfg:prod --annotation team=data conf.yaml\n"
        "Prints the manifest digest on stdout. Release tags (1.4.0, v1.4.0, 1.4.0-rc.1) are "
        "immutable; environment tags (dev, prod, latest, 1.4.0-prod) move.");

    // pull
    std::string pull_ref, pull_out;
    bool pull_overwrite = false, pull_json_out = false;
    auto* pull = artifact->add_subcommand("pull", "Pull an artifact's files into a directory");
    pull->add_option("REF", pull_ref, "What to pull (tag or digest)")->required();
    pull->add_option("-o,--output", pull_out, "Output directory")->required();
    pull->add_flag("--overwrite", pull_overwrite, "Replace files that already exist");
    std::string pull_max_unpacked;
    pull->add_option("--max-unpacked-size", pull_max_unpacked,
                     "Largest size one directory layer may unpack to (e.g. 200G; default 100 "
                     "times the layer, at least 256M, at most 64G)");
    pull->add_flag("--json", pull_json_out, "Print the result as JSON");
    pull->footer("\nExamples:\n"
                 "  floe artifact pull registry.example.com/data/sales:1.4.0 -o ./product\n"
                 "  floe artifact pull ocidir://./store@sha256:<hex> -o ./product --overwrite\n"
                 "Every layer is verified before anything appears in the output directory.");

    // inspect
    std::string inspect_ref;
    bool inspect_json_out = false;
    auto* inspect =
        artifact->add_subcommand("inspect", "Show an artifact's manifest, annotations and layers");
    inspect->add_option("REF", inspect_ref, "What to inspect (tag or digest)")->required();
    inspect->add_flag("--json", inspect_json_out, "Print as JSON");
    inspect->footer("\nExamples:\n"
                    "  floe artifact inspect registry.example.com/data/sales:1.4.0\n"
                    "  floe artifact inspect ocidir://./store:dev --json");

    // copy
    std::string copy_from, copy_to;
    bool copy_json_out = false;
    auto* copy = artifact->add_subcommand(
        "copy", "Copy an artifact (or image) between registries and layouts");
    copy->add_option("SRC", copy_from, "Source reference")->required();
    copy->add_option("DST", copy_to, "Destination reference (tag defaults to the source's)")
        ->required();
    copy->add_flag("--json", copy_json_out, "Print the result as JSON");
    copy->footer("\nExamples:\n"
                 "  floe artifact copy registry.example.com/data/sales:1.4.0 ocidir://./mirror\n"
                 "  floe artifact copy ocidir://./store:dev localhost:5000/data/sales:dev");

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0)
            return app.exit(e);
        fmt::print(stderr, "floe: {} (see floe --help)\n", one_line(e.what()));
        return exit_usage;
    }

    for (auto* name : {"FLOE_REGISTRY_PASSWORD", "FLOE_REGISTRY_TOKEN"})
        if (const char* v = std::getenv(name))
            remember_secret(v);
    try {
        auto options = client_options(g);
        ProgressView progress(parse_progress_mode(g.progress, ::isatty(2)), stderr);
        options.progress = progress.callback();
        Client client(options);
        if (*push && !push_products.empty()) {
            if (!push_paths.empty())
                fail(Errc::invalid_argument,
                     "--products pushes each product's "
                     "target/compiled_artifacts.json; give no PATH with it");
            auto prefix = Reference::parse(push_ref);
            PushOptions o;
            o.annotations = parse_annotations(push_annotations);
            o.artifact_type = push_type;
            auto results = client.push_products(prefix, push_products, o);
            progress.finish();
            std::vector<std::string> objects;
            for (auto& p : results) {
                if (push_json_out) {
                    auto one = push_json(p.ref, p.result);
                    objects.push_back(one.substr(0, one.size() - 1)); // without its newline
                } else {
                    fmt::print("{} {}\n", p.ref.str(), p.result.manifest.digest.str());
                }
            }
            if (push_json_out)
                fmt::print("[{}]\n", fmt::join(objects, ","));
            fmt::print(stderr, "floe: pushed {} products\n", results.size());
        } else if (*push) {
            auto ref = Reference::parse(push_ref);
            PushOptions o;
            if (!push_paths.empty())
                o.paths.assign(push_paths.begin(), push_paths.end());
            o.annotations = parse_annotations(push_annotations);
            o.artifact_type = push_type;
            o.compression = push_zstd ? LayerCompression::zstd : LayerCompression::gzip;
            auto r = client.push(ref, o);
            progress.finish();
            if (push_json_out)
                fmt::print("{}", push_json(ref, r));
            else
                fmt::print("{}\n", r.manifest.digest.str());
            fmt::print(stderr, "floe: pushed {}:{} ({} blobs, {} sent, {} already there)\n",
                       ref.is_layout() ? "ocidir://" + ref.path
                                       : ref.registry + "/" + ref.repository,
                       r.tag, r.blobs_pushed, human_size(r.bytes_pushed), r.blobs_skipped);
        } else if (*pull) {
            auto ref = Reference::parse(pull_ref);
            PullOptions o{pull_overwrite};
            if (!pull_max_unpacked.empty())
                o.max_unpacked_size = parse_byte_size(pull_max_unpacked, "--max-unpacked-size");
            auto r = client.pull(ref, pull_out, o);
            progress.finish();
            if (pull_json_out)
                fmt::print("{}", redact_secrets(pull_json(ref, r)));
            else
                fmt::print("{}", scrub_lines(pull_text(r)));
            if (!r.skipped_layers.empty())
                fmt::print(stderr, "floe: {} layer(s) without a title were not written\n",
                           r.skipped_layers.size());
        } else if (*inspect) {
            auto ref = Reference::parse(inspect_ref);
            auto r = client.inspect(ref);
            fmt::print("{}", inspect_json_out ? redact_secrets(inspect_json(ref, r))
                                              : scrub_lines(inspect_text(ref, r)));
        } else if (*copy) {
            auto from = Reference::parse(copy_from);
            auto to = Reference::parse(copy_to);
            auto r = client.copy(from, to);
            progress.finish();
            if (copy_json_out)
                fmt::print("{}", copy_json(from, to, r));
            else
                fmt::print("{}\n", r.manifest.digest.str());
        }
        return exit_ok;
    } catch (const Error& e) {
        fmt::print(stderr, "floe: {}{}\n", scrub(one_line(e.what())), hint_for(e));
        return exit_code_for(e.errc());
    } catch (const std::exception& e) {
        fmt::print(stderr, "floe: unexpected error: {}\n", scrub(one_line(e.what())));
        return exit_failure;
    }
}
