// floe's public C++ API: push, pull, inspect and copy artifacts between registries and local
// OCI layouts. Calls block until done and throw floe::Error; no Asio or Beast types appear here.
//
//   floe::Client client;                                   // credentials from FLOE_REGISTRY_*
//   auto pushed = client.push(floe::Reference::parse("ocidir://./store:1.0.0"),
//                             {.paths = {"target/compiled_artifacts.json"}});
//   client.pull(floe::Reference::parse("ocidir://./store:1.0.0"), "./out");
#pragma once

#include "floe/config/registry_settings.hpp"
#include "floe/core/descriptor.hpp"
#include "floe/core/error.hpp"
#include "floe/core/ping_result.hpp"
#include "floe/core/progress.hpp"
#include "floe/core/reference.hpp"
#include "floe/core/request_event.hpp"

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace floe {

struct ClientOptions {
    // How to talk to each registry (TLS, plain http, credentials, retry policy, concurrency,
    // bandwidth, chunking): `registries.defaults`, or the entry set for a host.
    RegistryConfig registries;
    std::chrono::seconds timeout{60}; // connect (name lookup included), and longest wait for a byte
    // A transfer slower than speed_limit bytes per second over speed_time fails (a trickling
    // server); a --limit-rate below it lowers it to half the limit.
    std::uint64_t speed_limit = 1024;
    // A registry given up for its mirror: one line each time (the CLI prints it).
    std::function<void(const std::string&)> on_failover;
    std::chrono::seconds speed_time{30};
    std::uint64_t limit_rate = 0; // bytes per second over all connections; 0: no limit
    bool durable = false;         // fdatasync files before they get their final names
    int range_parts = 1;          // fetch blobs >= 64 MiB as this many ranges at once
    ProgressCallback progress;    // per-blob and per-operation events
    RequestObserver observer;     // one event per HTTP exchange (-v, metrics)
    // A registry's circuit breaker changed state ("closed", "open", "half-open"): -v prints it.
    std::function<void(std::string_view host, std::string_view from, std::string_view to)>
        on_circuit_change;
    // The credential sources asked after the ones set per registry (README, "Authentication").
    CredentialOptions credentials;
    // SIGINT and SIGTERM cancel the running call, which then throws Errc::cancelled and leaves
    // only resumable state (for programs that have no handlers of their own; the CLI). After an
    // interrupt, a further SIGINT/SIGTERM ends the process with status 130 at once.
    bool handle_interrupts = false;
};

// A point in time by which a call must be done; past it the call is cancelled and throws
// Errc::network ("deadline exceeded"), leaving only resumable state.
using Deadline = std::optional<std::chrono::steady_clock::time_point>;

enum class LayerCompression { gzip, zstd };

struct PushOptions {
    std::vector<std::filesystem::path> paths{"target/compiled_artifacts.json"};
    // More tags for the same push, besides the reference's (each gets the same manifest).
    std::vector<std::string> tags;
    Annotations annotations;   // added to the manifest
    std::string artifact_type; // default: detected (compiled artifacts) or floe's bundle type
    LayerCompression compression = LayerCompression::gzip; // for directories
    // Remember file digests (keyed by inode, size, mtime, ctime) so unchanged files are not
    // read again; large new files are hashed while they are sent.
    bool digest_cache = true;
};

struct PushResult {
    Descriptor manifest;
    std::string tag;               // the first tag
    std::vector<std::string> tags; // every tag that names it now
    bool unchanged = false; // a tag already named this content: nothing was uploaded or written
    std::uint64_t blobs_pushed = 0;
    std::uint64_t blobs_skipped = 0; // already in the destination
    std::uint64_t bytes_pushed = 0;
};

struct ProductPushResult {
    Reference ref; // <prefix>/<product_name>:<product_version>
    PushResult result;
};

struct PullOptions {
    bool overwrite = false; // replace existing files in the output directory
    // What one directory layer may unpack to; 0: 100 times its size (at least 256 MiB, at most
    // 64 GiB). Over it the pull fails as a decompression bomb.
    std::uint64_t max_unpacked_size = 0;
};

struct PulledItem {
    std::string title;
    std::filesystem::path path;
    Descriptor layer;
    bool directory = false;
};

struct PullResult {
    Descriptor manifest;
    std::string served_by; // the registry (or mirror) it came from, "host/repository"
    bool from_mirror = false;
    std::vector<PulledItem> items;
    std::vector<Descriptor> skipped_layers; // untitled layers
};

struct InspectResult {
    Descriptor descriptor;      // what the reference resolved to
    std::string manifest_bytes; // exactly as stored
    std::optional<Manifest> manifest;
    std::optional<Index> index;
};

struct CopyResult {
    Descriptor manifest;
    std::uint64_t blobs_copied = 0;
    std::uint64_t blobs_skipped = 0;
    std::uint64_t bytes_copied = 0;
};

struct MirrorOptions {
    // Repositories under the source prefix, relative to it ("orders", "team/orders"); empty:
    // every repository the registry's catalog lists under it.
    std::vector<std::string> repositories;
    std::string tags; // a glob over tag names ("1.*", "prod-*"); "": every tag
    // Where to copy to, "host[:port][/namespace]"; empty: the mirrors configured for the
    // source's registry (RegistrySettings::mirrors).
    std::vector<std::string> to;
};

struct MirroredTag {
    std::string source;      // host/repository:tag
    std::string destination; // host/repository:tag on the mirror
    Descriptor manifest;
    bool copied = false; // false: the mirror already named the same manifest
    std::uint64_t bytes_copied = 0;
    Errc error = Errc::ok; // this tag failed (a conflict on the mirror, a network failure)
    std::string message;   // why, when it failed
};

struct MirrorResult {
    std::vector<MirroredTag> tags; // in repository, tag, mirror order
};

struct TagListOptions {
    std::string glob;          // only tags matching this ('1.*', 'prod-*'); "": all
    std::string last;          // only tags after this one (the registry skips the rest)
    std::size_t page_size = 0; // tags per request; 0: 1000
    bool digests = false;      // also resolve what each tag names (concurrently)
};

struct TagInfo {
    std::string tag;
    std::optional<Descriptor> manifest; // with TagListOptions::digests
};

struct TagResult {
    Descriptor manifest;                     // what the new tags name
    std::vector<std::string> tagged;         // tags written
    std::vector<std::string> unchanged;      // tags that already named it
    std::vector<std::string> moved_releases; // release tags moved on purpose (force)
};

struct ReferrersResult {
    Descriptor subject;                // what the reference resolved to
    std::vector<Descriptor> referrers; // artifacts whose `subject` names it
};

// Which credentials a registry gets, resolved for real (a helper run, a cloud token fetched).
struct CredentialInfo {
    std::string registry; // the host the credentials are for
    std::string source;   // which source answered; "" when none did
    std::string username; // never a secret
    std::string kind;     // "basic", "identity-token", "registry-token" or "anonymous"
};

struct LoginResult {
    std::string where;        // the credential helper or the file that holds them now
    bool unencrypted = false; // a plain file
    bool checked = true;      // false: the registry asked for no credentials, so none were sent
};

class Client {
  public:
    explicit Client(ClientOptions options = {});
    ~Client();
    Client(const Client&) = delete;
    Client& operator=(const Client&) = delete;

    // Packs files and directories into an artifact and pushes it, blobs first, manifest last,
    // under the reference's tag and options.tags. A release tag (semver) that already names
    // different content is refused (Errc::conflict) before anything is sent. When a tag already
    // names the same content (ignoring the creation time), nothing is uploaded and that
    // manifest's digest is the result.
    PushResult push(const Reference& ref, const PushOptions& options = {}, Deadline deadline = {});
    // Pushes every data product under `root` (each directory with a
    // target/compiled_artifacts.json, or root itself) to <prefix>/<product_name>:
    // <product_version>, all in one operation under one concurrency bound (CI bulk pushes).
    std::vector<ProductPushResult> push_products(const Reference& prefix,
                                                 const std::filesystem::path& root,
                                                 const PushOptions& options = {},
                                                 Deadline deadline = {});
    // Downloads and verifies every layer, then moves them into `out` (nothing on failure).
    PullResult pull(const Reference& ref, const std::filesystem::path& out,
                    const PullOptions& options = {}, Deadline deadline = {});
    InspectResult inspect(const Reference& ref, Deadline deadline = {});
    // Copies a manifest and everything it names; tags it with to.tag (or from's tag).
    CopyResult copy(const Reference& from, const Reference& to, Deadline deadline = {});

    // Every tag of a repository (or layout), following the registry's pages to the end,
    // sorted.
    std::vector<TagInfo> list_tags(const Reference& repository, const TagListOptions& options = {},
                                   Deadline deadline = {});
    // Points more tags at what `ref` names, with no blob traffic: the exact manifest bytes are
    // PUT under each tag, so the digest is unchanged. Tags are checked against the OCI grammar
    // before any request. A release tag that names other content is refused (Errc::conflict)
    // unless `force`, and then reported in moved_releases.
    TagResult tag(const Reference& ref, const std::vector<std::string>& tags, bool force = false,
                  Deadline deadline = {});

    // The artifacts attached to what `ref` names (signatures, SBOMs, reports): the registry's
    // referrers API, following its pages, else the referrers tag schema (sha256-<hex>) the
    // distribution spec gives registries without it. `artifact_type` filters ("" for all).
    ReferrersResult referrers(const Reference& ref, std::string_view artifact_type = {},
                              Deadline deadline = {});

    // Copies every tag (or those matching options.tags) of the repositories under `prefix`
    // ("host/namespace") to each mirror, skipping tags the mirror already names identically.
    // A tag that fails is reported in the result and the others go on; listing the source
    // fails the call.
    MirrorResult mirror(const Reference& prefix, const MirrorOptions& options = {},
                        Deadline deadline = {});

    // `registry`: "host[:port]" (a scheme or a path after it are ignored; docker.io's aliases
    // are one registry).
    CredentialInfo which_credentials(std::string_view registry, Deadline deadline = {});
    // Checks the credentials against the registry, then saves them through its credential
    // helper, else in docker's config.json (mode 0600). Refused credentials are not saved.
    LoginResult login(std::string_view registry, const Credentials& credentials,
                      Deadline deadline = {});
    // Forgets the registry's saved credentials; returns where from ("" when there were none).
    std::string logout(std::string_view registry, Deadline deadline = {});

    // Checks the health of a registry (README, "Health checks"): "host[:port][/repository]",
    // an oci:// prefix ignored; the repository, when given, is asked about the referrers API.
    // Uses the registry's settings (TLS, plain http, credentials) and sends each request once,
    // without retries. What it finds is the result; only a bad argument, the deadline or an
    // interrupt throws. FLOE_REGISTRY_* credentials go to the first registry only.
    PingResult ping(std::string_view registry, Deadline deadline = {});
    // Several registries checked at once; the results in the order given.
    std::vector<PingResult> ping(const std::vector<std::string>& registries,
                                 Deadline deadline = {});

  private:
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

} // namespace floe
