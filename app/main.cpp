// The floe command: parses arguments (CLI11), calls the library, prints results, and maps
// failures to one line on stderr and a distinct exit code. No protocol logic lives here.
#include "exit_codes.hpp"
#include "output.hpp"
#include "ping_output.hpp"
#include "platform.hpp"
#include "progress_view.hpp"
#include "prompt.hpp"

#include "floe/core/byte_size.hpp"
#include "floe/core/printable.hpp"

#include "floe/client.hpp"

#include <CLI/CLI.hpp>
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
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
    std::string pull_secret;
    std::string config_file;
    std::string env_name;
};

// One line, whatever the message holds.
std::string one_line(std::string s) {
    for (auto& c : s)
        if (c == '\n' || c == '\r')
            c = ' ';
    return s;
}

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
    o.credentials.pull_secret = g.pull_secret;
    o.on_failover = [](const std::string& line) {
        fmt::print(stderr, "floe: {}\n", scrub(one_line(line)));
    };
    if (g.verbose)
        o.on_circuit_change = [](std::string_view host, std::string_view from,
                                 std::string_view to) {
            fmt::print(stderr, "floe: registry {}: circuit {} -> {}\n", scrub(std::string(host)),
                       from, to);
        };
    o.credentials.warn = [](const std::string& line) {
        fmt::print(stderr, "floe: warning: {}\n", scrub(one_line(line)));
    };
    if (g.verbose)
        o.observer = [](const RequestEvent& e) {
            fmt::print(stderr, "floe: {}\n", request_line(e));
        };
    return o;
}

// What to do about an error, for the errors whose fix is the CLI's own configuration.
std::string hint_for(const Error& e) {
    if (e.errc() == Errc::unauthorized)
        return "; run 'floe login REGISTRY' or set FLOE_REGISTRY_USERNAME and "
               "FLOE_REGISTRY_PASSWORD (see 'floe auth which REGISTRY')";
    return {};
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

// "host[:port][/namespace]" (oci:// allowed) as a reference with no tag: a whole registry
// when there is no namespace.
Reference namespace_reference(std::string_view text) {
    if (text.starts_with("oci://"))
        text.remove_prefix(6);
    while (text.ends_with("/"))
        text.remove_suffix(1);
    if (text.find('/') != std::string_view::npos)
        return Reference::parse(text);
    if (text.empty() || text.find_first_of("@ ") != std::string_view::npos)
        fail(Errc::invalid_reference, "'" + std::string(text) +
                                          "' is not a registry[/namespace] such as "
                                          "registry.example.com/floe");
    Reference r;
    r.registry = std::string(text);
    return r;
}

// `floe registry ping`: the registries named, else the environment's registry and mirrors.
int run_ping(Client& client, const Platform& platform, std::vector<std::string> names,
             bool json_out) {
    std::vector<PingRow> rows(names.size());
    if (names.empty()) {
        auto* env = platform.effective();
        if (!env)
            fail(Errc::invalid_argument,
                 "name a registry (host[:port][/repository]), or give --env NAME with a "
                 "platform manifest (--config FILE, FLOE_MANIFEST or ./manifest.yaml)");
        names.push_back(env->primary.host);
        rows.push_back({"primary", {}});
        for (std::size_t i = 0; i < env->mirrors.size(); ++i) {
            names.push_back(env->mirrors[i].host);
            rows.push_back({"mirror " + std::to_string(i + 1), {}});
        }
    }
    auto results = client.ping(names);
    for (std::size_t i = 0; i < results.size(); ++i)
        rows[i].result = results[i];
    fmt::print("{}", json_out ? ping_json(rows) : ping_table(rows));
    return exit_code_for(worst_status(results));
}

// The options every command takes, before or after its name (`floe --limit-rate 50M artifact
// pull ...` and `floe artifact pull ... --limit-rate 50M` are the same): registered on the app
// and again on each command, so each command's --help lists them.
void add_global_options(CLI::App& cmd, GlobalFlags& g) {
    cmd.add_flag("-v,--verbose", g.verbose,
                 "Log each HTTP request to stderr (credentials redacted)");
    // No CLI11 envname on these two: each command's copy would read the variable again and
    // overwrite a flag given at another place. apply_environment() reads them once.
    cmd.add_option("--ca-file", g.ca_file,
                   "Trust the CA certificates in this PEM file too (default FLOE_CA_FILE)")
        ->check(CLI::ExistingFile);
    cmd.add_flag("--insecure", g.insecure,
                 "Skip TLS certificate verification (never in production)");
    cmd.add_flag("--plain-http", g.plain_http,
                 "Use http:// for registries (loopback hosts fall back to it by themselves)");
    cmd.add_option("--concurrency", g.concurrency, "Blobs in flight")
        ->check(CLI::Range(1, 64))
        ->capture_default_str();
    cmd.add_option("--timeout", g.timeout_seconds, "Seconds to wait for a connection or any byte")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    cmd.add_option("--limit-rate", g.limit_rate,
                   "Cap all transfers together at this many bytes per second (800K, 50M, 1G)");
    cmd.add_option("--speed-limit", g.speed_limit,
                   "Give up on a transfer slower than this many bytes per second over "
                   "--speed-time (a trickling server)")
        ->capture_default_str();
    cmd.add_option("--speed-time", g.speed_time, "Seconds over which --speed-limit is measured")
        ->check(CLI::Range(1, 3600))
        ->capture_default_str();
    cmd.add_option("--progress", g.progress,
                   "auto (bars on a terminal, lines otherwise), tty, plain, json (JSON lines on "
                   "stderr) or none")
        ->capture_default_str();
    cmd.add_option("--chunk-size", g.chunk_size,
                   "Upload in chunks of this size (4M, 64M), for registries behind proxies that "
                   "refuse large bodies");
    cmd.add_option("--mount-from", g.mount_from,
                   "Link blobs from this repository of the same registry instead of uploading "
                   "them (repeatable)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    cmd.add_option("--range-parts", g.range_parts,
                   "Fetch each blob of 64 MiB or more as this many concurrent ranges (long, "
                   "window-limited links)")
        ->check(CLI::Range(1, 16))
        ->capture_default_str();
    cmd.add_option("--config", g.config_file,
                   "The platform manifest (its artifacts section: registries per environment); "
                   "default FLOE_MANIFEST, else ./manifest.yaml when it has one");
    cmd.add_option("--env", g.env_name,
                   "The manifest's environment to use (default FLOE_ENVIRONMENT, else "
                   "artifacts.registry); references without a host go to its registry");
    cmd.add_option("--pull-secret", g.pull_secret,
                   "Credentials from a Kubernetes pull secret: a Secret manifest or "
                   ".dockerconfigjson file, or k8s:NAMESPACE/NAME read with the pod's service "
                   "account (default FLOE_PULL_SECRET)");
    cmd.add_flag("--fsync", g.fsync,
                 "Flush each file to disk before it gets its final name (survives power loss)");
    for (auto* option : cmd.get_options())
        if (option->get_group() == "Options" && option->get_name() != "--help")
            option->group("Global options (before or after the command)");
}

// FLOE_CA_FILE and FLOE_PULL_SECRET stand in for their flags when the flags are not given.
void apply_environment(const CLI::App& app, GlobalFlags& g);

// Whether an option was given on the command line, wherever it stood.
bool given(const CLI::App& app, const std::string& name) {
    if (auto* option = app.get_option_no_throw(name); option && option->count() > 0)
        return true;
    for (auto* sub : app.get_subcommands())
        if (given(*sub, name))
            return true;
    return false;
}

void apply_environment(const CLI::App& app, GlobalFlags& g) {
    if (const char* ca = std::getenv("FLOE_CA_FILE"); ca && *ca && !given(app, "--ca-file")) {
        if (!std::filesystem::is_regular_file(ca))
            fail(Errc::invalid_argument, std::string("FLOE_CA_FILE ") + printable(ca) +
                                             " is not a file; point it at a PEM file or unset it");
        g.ca_file = ca;
    }
    if (const char* secret = std::getenv("FLOE_PULL_SECRET");
        secret && *secret && !given(app, "--pull-secret"))
        g.pull_secret = secret;
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
        "\n\nCredentials, first hit wins: FLOE_REGISTRY_USERNAME/PASSWORD or FLOE_REGISTRY_TOKEN "
        "(the reference's registry only; FLOE_SOURCE_REGISTRY_* for a copy's source), "
        "--pull-secret, docker/podman config and credential helpers ('floe login'), then "
        "ECR/GCR/ACR identities. 'floe auth which REGISTRY' shows which one answers.\nExit codes: "
        "0 ok, 1 other failure, 2 usage, 3 not found, "
        "4 authentication, 5 verification, 6 network, 7 invalid input, 8 conflict, 9 local I/O, "
        "10 TLS certificate (registry ping), 11 registry unhealthy (registry ping), "
        "130 interrupted (run again to continue).");
    GlobalFlags g;
    add_global_options(app, g);

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
    std::vector<std::string> push_tags;
    push->add_option("-t,--tag", push_tags,
                     "Another tag for the same push, besides the one in REF (repeatable)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
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

    // tags
    struct TagsFlags {
        std::string ref, glob, last;
        std::size_t page_size = 0;
        bool digests = false, json = false;
    } tags_flags;
    auto* tags_cmd = artifact->add_subcommand("tags", "List a repository's tags");
    tags_cmd->add_option("REF", tags_flags.ref, "The repository (a tag in it is ignored)")
        ->required();
    tags_cmd->add_option("GLOB", tags_flags.glob, "Only the tags matching ('1.*', 'prod-*')");
    tags_cmd->add_option("--last", tags_flags.last, "Only the tags after this one");
    tags_cmd->add_option("--page-size", tags_flags.page_size, "Tags per request (default 1000)")
        ->check(CLI::Range(1, 10000));
    tags_cmd->add_flag("--digests", tags_flags.digests, "Show what each tag names");
    tags_cmd->add_flag("--json", tags_flags.json, "Print as JSON");
    tags_cmd->footer("\nExamples:\n"
                     "  floe artifact tags registry.example.com/data/sales\n"
                     "  floe artifact tags registry.example.com/data/sales '1.*' --digests --json");

    // tag
    struct TagFlags {
        std::string ref;
        std::vector<std::string> tags;
        bool force = false, json = false;
    } tag_flags;
    auto* tag_cmd = artifact->add_subcommand(
        "tag", "Point more tags at an artifact (no blob is sent; the digest stays)");
    tag_cmd->add_option("REF", tag_flags.ref, "What to tag (by tag or digest)")->required();
    tag_cmd->add_option("TAG", tag_flags.tags, "The tags to add")->required();
    tag_cmd->add_flag("--force", tag_flags.force,
                      "Move a release tag (1.2.3) that names other content (with a warning)");
    tag_cmd->add_flag("--json", tag_flags.json, "Print the result as JSON");
    tag_cmd->footer("\nExamples:\n"
                    "  floe artifact tag registry.example.com/data/sales:1.4.0 prod stable\n"
                    "  floe artifact tag registry.example.com/data/sales@sha256:<hex> 1.4.0\n"
                    "Release tags are immutable: moving one needs --force.");

    // referrers
    struct ReferrersFlags {
        std::string ref, artifact_type;
        bool json = false;
    } referrers_flags;
    auto* referrers_cmd = artifact->add_subcommand(
        "referrers", "List the artifacts attached to one (signatures, SBOMs, reports)");
    referrers_cmd->add_option("REF", referrers_flags.ref, "The subject (by tag or digest)")
        ->required();
    referrers_cmd->add_option("--artifact-type", referrers_flags.artifact_type,
                              "Only referrers of this artifact type");
    referrers_cmd->add_flag("--json", referrers_flags.json, "Print as JSON");
    referrers_cmd->footer(
        "\nUses the registry's referrers API, else the referrers tag schema (sha256-<hex>) of "
        "registries without it.\nExample:\n"
        "  floe artifact referrers registry.example.com/data/sales:1.4.0 --json");

    // mirror
    struct MirrorFlags {
        std::string tags, from;
        std::vector<std::string> repositories, to;
        bool json = false;
    } mirror_flags;
    auto* mirror = artifact->add_subcommand(
        "mirror", "Copy an environment's artifacts from its registry to each of its mirrors");
    mirror->add_option("TAG-GLOB", mirror_flags.tags,
                       "Only the tags matching this glob ('1.*', 'prod-*'; default: all)");
    mirror
        ->add_option("--repository", mirror_flags.repositories,
                     "A repository under the environment's namespace (repeatable; default: "
                     "every one the registry's catalog lists)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    mirror
        ->add_option("--to", mirror_flags.to,
                     "Copy to this registry[/namespace] instead of the configured mirrors "
                     "(repeatable)")
        ->expected(1)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
    mirror->add_option("--from", mirror_flags.from,
                       "The source registry/namespace when no platform manifest names one");
    mirror->add_flag("--json", mirror_flags.json, "Print the result as JSON");
    mirror->footer("\nExamples:\n"
                   "  floe artifact mirror --env prod\n"
                   "  floe artifact mirror --env prod '1.*' --repository orders\n"
                   "  floe artifact mirror --from localhost:5000/floe --to localhost:5001/floe\n"
                   "Tags the mirror already names identically are skipped, so a second run "
                   "copies nothing: safe to run from cron. Pushes go to the primary only; this is "
                   "how mirrors catch up.");

    // login / logout (also as `floe artifact login|logout`)
    struct LoginFlags {
        std::string registry, username, password_on_argv;
        bool password_stdin = false;
    } login_flags;
    std::string logout_registry;
    auto add_login = [&](CLI::App* parent) {
        auto* cmd = parent->add_subcommand(
            "login", "Check credentials against a registry and save them for later commands");
        cmd->add_option("REGISTRY", login_flags.registry, "Registry host[:port]")->required();
        cmd->add_option("-u,--username", login_flags.username, "User name (asked when absent)");
        cmd->add_flag("--password-stdin", login_flags.password_stdin,
                      "Read the password or token from stdin (else it is asked for, unechoed)");
        // Accepted only to be refused without echoing it (a parse error would quote it).
        cmd->add_option("-p,--password", login_flags.password_on_argv)->group("");
        cmd->footer("\nSaves through the registry's credential helper (credHelpers, credsStore "
                    "in docker's config.json), else in config.json itself (mode 0600, "
                    "unencrypted). There is no --password flag: a flag's value shows in the "
                    "process list and in shell history.\nExample:\n"
                    "  printf %s \"$TOKEN\" | floe login ghcr.io -u me --password-stdin");
        return cmd;
    };
    auto add_logout = [&](CLI::App* parent) {
        auto* cmd = parent->add_subcommand("logout", "Forget the saved credentials of a registry");
        cmd->add_option("REGISTRY", logout_registry, "Registry host[:port]")->required();
        return cmd;
    };
    auto* login = add_login(&app);
    auto* logout = add_logout(&app);
    auto* artifact_login = add_login(artifact);
    auto* artifact_logout = add_logout(artifact);

    // config show
    auto* config_cmd = app.add_subcommand("config", "Show the configuration floe would use");
    config_cmd->require_subcommand(1);
    bool config_json_out = false;
    auto* config_show = config_cmd->add_subcommand(
        "show", "The effective registry configuration of an environment (secrets as references)");
    config_show->add_flag("--json", config_json_out, "Print as JSON");

    // auth which
    auto* auth = app.add_subcommand("auth", "Inspect how floe authenticates");
    auth->require_subcommand(1);
    std::string which_registry;
    bool which_json_out = false;
    auto* which = auth->add_subcommand(
        "which", "Resolve the credentials for a registry and show which source answered");
    which->add_option("REGISTRY", which_registry, "Registry host[:port]")->required();
    which->add_flag("--json", which_json_out, "Print as JSON");
    which->footer("\nRuns the credential helper or fetches the cloud token for real, so it "
                  "doubles as a check of the set-up. Prints the user name, never the secret.");

    // registry ping
    auto* registry_cmd = app.add_subcommand("registry", "Check registries");
    registry_cmd->require_subcommand(1);
    std::vector<std::string> ping_registries;
    bool ping_json_out = false;
    auto* ping_cmd = registry_cmd->add_subcommand(
        "ping", "Check that registries answer, are trusted, accept the credentials, and how fast");
    ping_cmd->add_option("REGISTRY", ping_registries,
                         "host[:port][/repository]; a repository is asked about the referrers "
                         "API (default: the environment's registry and each mirror)");
    ping_cmd->add_flag("--json", ping_json_out, "Print a JSON array, one object per registry");
    ping_cmd->footer(
        "\nChecks, in order, stopping at the first that fails: TCP and TLS (the certificate's "
        "expiry date), GET /v2/ and its API version, the credentials (a token obtained), the "
        "referrers API (with a repository; else 'unknown'), and the median of 5 round trips. "
        "Each request is sent once, without retries.\nExit codes (the worst result wins): "
        "0 all healthy, 6 unreachable (lookup, refused, timeout), 10 TLS (certificate "
        "expired, untrusted or for another name), 4 unauthorized (credentials missing or "
        "refused), 11 unhealthy (5xx, or not a registry), 2 usage.\nExamples:\n"
        "  floe registry ping registry.example.com ghcr.io/acme/app\n"
        "  floe registry ping --env prod --json");

    std::function<void(CLI::App&)> register_on_leaves = [&](CLI::App& cmd) {
        auto subs = cmd.get_subcommands({});
        if (subs.empty())
            add_global_options(cmd, g);
        for (auto* sub : subs)
            register_on_leaves(*sub);
    };
    for (auto* sub : app.get_subcommands({}))
        register_on_leaves(*sub);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& e) {
        if (e.get_exit_code() == 0)
            return app.exit(e);
        fmt::print(stderr, "floe: {} (see floe --help)\n", one_line(e.what()));
        return exit_usage;
    }

    for (auto* name : {"FLOE_REGISTRY_PASSWORD", "FLOE_REGISTRY_TOKEN",
                       "FLOE_SOURCE_REGISTRY_PASSWORD", "FLOE_SOURCE_REGISTRY_TOKEN"})
        if (const char* v = std::getenv(name))
            remember_secret(v);
    try {
        apply_environment(app, g);
        auto platform = load_platform(g.config_file, g.env_name);
        auto options = client_options(g);
        // The file's per-host values, with each flag given on the command line laid on top.
        apply_platform(platform, options, [&](RegistrySettings& s) {
            auto& d = options.registries.defaults;
            if (given(app, "--ca-file") || std::getenv("FLOE_CA_FILE"))
                s.ca_file = d.ca_file;
            if (g.insecure)
                s.insecure_skip_tls_verify = true;
            if (g.plain_http)
                s.plain_http = true;
            if (given(app, "--concurrency"))
                s.concurrency = d.concurrency;
            if (given(app, "--chunk-size"))
                s.chunk_size = d.chunk_size;
            if (given(app, "--mount-from"))
                s.mount_from = d.mount_from;
            if (given(app, "--limit-rate"))
                s.limit_rate = 0; // the command line's budget, shared by every registry
        });
        for (auto* ref : {&push_ref, &pull_ref, &inspect_ref, &copy_from, &copy_to, &tags_flags.ref,
                          &tag_flags.ref})
            if (!ref->empty())
                *ref = qualified(platform, *ref);
        ProgressView progress(parse_progress_mode(g.progress, ::isatty(2)), stderr);
        options.progress = progress.callback();
        Client client(options);
        if (*config_show) {
            auto* env = platform.effective();
            if (!env)
                fail(Errc::invalid_argument,
                     "no platform manifest: give --config FILE, set FLOE_MANIFEST, or run where "
                     "manifest.yaml has an artifacts section");
            fmt::print("{}", config_json_out
                                 ? config::to_json(*env, platform.manifest->path)
                                 : scrub_lines(config::to_text(*env, platform.manifest->path)));
        } else if (*tags_cmd) {
            auto repo = Reference::parse(tags_flags.ref);
            repo.tag.clear();
            TagListOptions o{tags_flags.glob, tags_flags.last, tags_flags.page_size,
                             tags_flags.digests};
            auto list = client.list_tags(repo, o);
            fmt::print("{}", tags_flags.json ? tags_json(list) : scrub_lines(tags_text(list)));
        } else if (*referrers_cmd) {
            auto ref = Reference::parse(referrers_flags.ref);
            auto r = client.referrers(ref, referrers_flags.artifact_type);
            fmt::print("{}", referrers_flags.json ? redact_secrets(referrers_json(r))
                                                  : scrub_lines(referrers_text(r)));
        } else if (*tag_cmd) {
            auto ref = Reference::parse(tag_flags.ref);
            auto r = client.tag(ref, tag_flags.tags, tag_flags.force);
            for (auto& t : r.moved_releases)
                fmt::print(stderr,
                           "floe: warning: moved release tag {} to {} (--force); whoever pulled "
                           "{} before got other content\n",
                           t, r.manifest.digest.str(), t);
            if (tag_flags.json)
                fmt::print("{}", tag_json(r));
            else
                fmt::print("{}\n", r.manifest.digest.str());
            fmt::print(stderr, "floe: tagged {} ({} written, {} already there)\n",
                       fmt::join(tag_flags.tags, ","), r.tagged.size(), r.unchanged.size());
        } else if (*mirror) {
            auto* env = platform.effective();
            std::string from = mirror_flags.from;
            if (from.empty() && env)
                from = env->primary.namespace_.empty()
                           ? env->primary.host
                           : env->primary.host + "/" + env->primary.namespace_;
            if (from.empty())
                fail(Errc::invalid_argument,
                     "mirror needs a source: give --env NAME with a platform manifest, or --from "
                     "REGISTRY/NAMESPACE");
            MirrorOptions o{mirror_flags.repositories, mirror_flags.tags, mirror_flags.to};
            auto r = client.mirror(namespace_reference(from), o);
            progress.finish();
            fmt::print("{}", mirror_flags.json ? redact_secrets(mirror_json(r))
                                               : scrub_lines(mirror_text(r)));
            std::size_t copied = 0, failed = 0;
            std::optional<Errc> first_failure;
            for (auto& t : r.tags) {
                copied += t.copied;
                if (t.error != Errc::ok) {
                    ++failed;
                    if (!first_failure)
                        first_failure = t.error;
                    fmt::print(stderr, "floe: {}: {}\n", scrub(t.destination),
                               scrub(one_line(t.message)));
                }
            }
            fmt::print(stderr, "floe: mirrored {} tag(s): {} copied, {} unchanged, {} failed\n",
                       r.tags.size(), copied, r.tags.size() - copied - failed, failed);
            if (first_failure)
                return exit_code_for(*first_failure);
        } else if (*login || *artifact_login) {
            if (!login_flags.password_on_argv.empty()) {
                remember_secret(login_flags.password_on_argv);
                fmt::print(stderr, "floe: a password is never taken from the command line (it "
                                   "shows in the process list and in shell history); pipe it to "
                                   "--password-stdin\n");
                return exit_usage;
            }
            Credentials c;
            c.username = login_flags.username;
            if (c.username.empty()) {
                if (login_flags.password_stdin)
                    fail(Errc::invalid_argument, "--password-stdin needs --username");
                c.username = prompt_on_terminal("Username: ", false);
            }
            c.password = login_flags.password_stdin ? read_secret_from_stdin()
                                                    : prompt_on_terminal("Password: ", true);
            remember_secret(c.password);
            if (c.username.empty() || c.password.empty())
                fail(Errc::invalid_argument, "a user name and a password are both needed");
            auto saved = client.login(login_flags.registry, c);
            if (saved.checked)
                fmt::print(stderr, "floe: login succeeded; credentials saved in {}\n",
                           scrub(saved.where));
            else
                fmt::print(stderr,
                           "floe: warning: {} does not ask for credentials, so these were not "
                           "checked (nor sent); saved in {}\n",
                           scrub(login_flags.registry), scrub(saved.where));
            if (saved.unencrypted)
                fmt::print(stderr,
                           "floe: warning: the password is stored unencrypted in {}; configure "
                           "a credential helper (\"credsStore\" in that file) to avoid it\n",
                           scrub(saved.where));
        } else if (*logout || *artifact_logout) {
            auto where = client.logout(logout_registry);
            if (where.empty())
                fmt::print(stderr, "floe: no saved credentials for {}\n", scrub(logout_registry));
            else
                fmt::print(stderr, "floe: removed the credentials of {} from {}\n",
                           scrub(logout_registry), scrub(where));
        } else if (*ping_cmd) {
            return run_ping(client, platform, ping_registries, ping_json_out);
        } else if (*which) {
            auto info = client.which_credentials(which_registry);
            fmt::print("{}",
                       which_json_out ? credential_json(info) : scrub_lines(credential_text(info)));
        } else if (*push && !push_products.empty()) {
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
            o.tags = push_tags;
            auto r = client.push(ref, o);
            progress.finish();
            if (push_json_out)
                fmt::print("{}", push_json(ref, r));
            else
                fmt::print("{}\n", r.manifest.digest.str());
            auto where =
                ref.is_layout() ? "ocidir://" + ref.path : ref.registry + "/" + ref.repository;
            if (r.unchanged)
                fmt::print(stderr, "floe: {}:{} already holds this content; nothing was sent\n",
                           where, fmt::join(r.tags, ","));
            else
                fmt::print(stderr, "floe: pushed {}:{} ({} blobs, {} sent, {} already there)\n",
                           where, fmt::join(r.tags, ","), r.blobs_pushed,
                           human_size(r.bytes_pushed), r.blobs_skipped);
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
            if (r.from_mirror)
                fmt::print(stderr, "floe: pulled from mirror {}\n", scrub(r.served_by));
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
