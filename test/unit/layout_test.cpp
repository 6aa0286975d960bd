// The local layout Target, the copy engine between two layouts, packing and safe unpacking:
// real files in a temporary directory, no sockets.
#include "run_task.hpp"

#include "floe/artifact/extract.hpp"
#include "floe/artifact/pack.hpp"
#include "floe/artifact/safe_tree.hpp"
#include "floe/artifact/tar.hpp"
#include "floe/core/error.hpp"
#include "floe/core/media_types.hpp"
#include "floe/layout/layout_target.hpp"
#include "floe/transfer/copy.hpp"

#include <archive.h>
#include <archive_entry.h>
#include <doctest/doctest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>

using namespace floe;
namespace fs = std::filesystem;
using floe::test::run_task;

namespace {

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/floe-unit-XXXXXX";
        path = ::mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

void write(const fs::path& p, const std::string& content) {
    fs::create_directories(p.parent_path());
    std::ofstream(p, std::ios::binary) << content;
}

std::string read(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), {}};
}

const char* product =
    R"({"version":"1","metadata":{"product_name":"p","product_version":"1.0.0"}})";

struct TarEntry {
    std::string name;
    int type = AE_IFREG;
    std::string link{};     // symlink target
    std::string hardlink{}; // hard link target
    std::string data = "bad";
};

// A tar.gz with these entries, in order.
void make_tar(const fs::path& out, const std::vector<TarEntry>& entries) {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    archive_write_add_filter_gzip(a);
    archive_write_open_filename(a, out.c_str());
    for (auto& t : entries) {
        archive_entry* e = archive_entry_new();
        archive_entry_set_pathname(e, t.name.c_str());
        archive_entry_set_filetype(e, static_cast<unsigned>(t.type));
        archive_entry_set_perm(e, 0644);
        if (t.type == AE_IFLNK)
            archive_entry_set_symlink(e, t.link.c_str());
        if (!t.hardlink.empty())
            archive_entry_set_hardlink(e, t.hardlink.c_str());
        if (t.type == AE_IFREG && t.hardlink.empty())
            archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
        archive_write_header(a, e);
        if (t.type == AE_IFREG && t.hardlink.empty())
            archive_write_data(a, t.data.data(), t.data.size());
        archive_entry_free(e);
    }
    archive_write_close(a);
    archive_write_free(a);
}

void make_tar(const fs::path& out, const std::string& name, int type = AE_IFREG,
              const std::string& link = "") {
    make_tar(out, {TarEntry{name, type, link}});
}

Errc unpack_error(const fs::path& tar, const fs::path& dest,
                  artifact::UnpackLimits limits = artifact::unpack_limits(1 << 20)) {
    try {
        artifact::SafeTree tree(dest);
        artifact::unpack_archive(tar, tree, "pkg", limits);
    } catch (const Error& e) {
        return e.errc();
    }
    return Errc::ok;
}

} // namespace

TEST_CASE("layout: push verifies, resolve finds tags, index.json stays valid") {
    TempDir tmp;
    layout::LayoutTarget store(tmp.path / "store");
    Descriptor blob{"application/octet-stream", Digest::of("hello"), 5, {}, {}};
    MemorySource good{"hello"};
    run_task(store.push(blob, good));
    CHECK(run_task(store.exists(blob)));
    CHECK(read(store.blob_path(blob.digest)) == "hello");
    CHECK(fs::exists(tmp.path / "store" / "oci-layout"));

    SUBCASE("a wrong digest never lands under the final name") {
        Descriptor lie{"application/octet-stream", Digest::of("other"), 5, {}, {}};
        MemorySource bytes{"hello"};
        CHECK_THROWS_AS(run_task(store.push(lie, bytes)), Error);
        CHECK_FALSE(fs::exists(store.blob_path(lie.digest)));
        for (auto& f : fs::recursive_directory_iterator(tmp.path / "store" / "blobs"))
            CHECK(f.path().filename().string().rfind(".floe-tmp-", 0) != 0); // no leftovers
    }
    SUBCASE("a short stream is refused") {
        Descriptor longer{"application/octet-stream", Digest::of("hello!"), 6, {}, {}};
        MemorySource bytes{"hello"};
        CHECK_THROWS_AS(run_task(store.push(longer, bytes)), Error);
    }
    SUBCASE("tags move atomically and are listed") {
        Manifest m;
        m.config = empty_config_descriptor();
        m.layers.push_back(blob);
        auto bytes = serialize(m);
        Descriptor md{
            std::string(media_type::oci_manifest), Digest::of(bytes), bytes.size(), {}, {}};
        run_task(store.push_manifest(md, bytes, "v1"));
        run_task(store.tag(md, "dev"));
        CHECK(run_task(store.resolve("v1")).digest == md.digest);
        CHECK(run_task(store.resolve(md.digest.str())).media_type == media_type::oci_manifest);
        auto tags = run_task(all_tags(store));
        CHECK(tags == std::vector<std::string>{"dev", "v1"}); // sorted, in pages
        run_task(store.tag(md, "v1"));                        // re-tagging does not duplicate
        CHECK(run_task(all_tags(store)).size() == 2);
        auto page = run_task(store.list_tags(std::nullopt, 1));
        CHECK(page.tags == std::vector<std::string>{"dev"});
        REQUIRE(page.next);
        CHECK(run_task(store.list_tags(page.next, 1)).tags == std::vector<std::string>{"v1"});
        try {
            run_task(store.resolve("nope"));
            FAIL("resolved");
        } catch (const Error& e) {
            CHECK(e.errc() == Errc::not_found);
        }
    }
}

TEST_CASE("pack, copy between layouts, and extract round-trip files and a directory") {
    TempDir tmp;
    write(tmp.path / "in/compiled_artifacts.json", product);
    write(tmp.path / "in/notes.txt", "notes");
    write(tmp.path / "in/models/a/b.sql", "select 1");
    write(tmp.path / "in/models/c.sql", "select 2");
    fs::create_symlink("c.sql", tmp.path / "in/models/link.sql");

    artifact::PackOptions options;
    options.created = "2026-01-01T00:00:00Z";
    options.annotations["team"] = "data";
    auto packed = artifact::pack({tmp.path / "in/compiled_artifacts.json",
                                  tmp.path / "in/notes.txt", tmp.path / "in/models"},
                                 options);
    auto& m = packed->manifest();
    CHECK(m.artifact_type == media_type::floe_compiled_artifacts);
    CHECK(m.annotations.at(std::string(annotation::product_name)) == "p");
    CHECK(m.annotations.at("team") == "data");
    REQUIRE(m.layers.size() == 3);
    CHECK(m.layers[0].digest == Digest::of(product)); // pushed byte for byte
    CHECK(m.layers[2].annotation(annotation::unpack) == "true");

    // Same inputs, same manifest: directory tars are deterministic.
    auto again = artifact::pack({tmp.path / "in/compiled_artifacts.json", tmp.path / "in/notes.txt",
                                 tmp.path / "in/models"},
                                options);
    CHECK(again->manifest_bytes() == packed->manifest_bytes());

    layout::LayoutTarget a(tmp.path / "a"), b(tmp.path / "b");
    std::vector<ProgressEvent> events;
    transfer::Session session({2, [&](const ProgressEvent& e) { events.push_back(e); }});
    transfer::Engine engine(session);
    auto first = run_task(engine.copy(*packed, a, packed->manifest_descriptor(), "1.0.0"));
    // Progress: the last byte count of each blob is its size; never more than 2 in flight.
    std::map<Digest, std::uint64_t> last_bytes;
    std::uint64_t max_in_flight = 0;
    for (auto& e : events) {
        if (e.kind == ProgressEvent::Kind::bytes)
            last_bytes[e.blob.digest] = e.bytes;
        if (e.kind == ProgressEvent::Kind::operation)
            max_in_flight = std::max(max_in_flight, e.in_flight);
    }
    std::uint64_t sum = 0, expected = m.config.size;
    for (auto& [d, b] : last_bytes)
        sum += b;
    for (auto& l : m.layers)
        expected += l.size;
    CHECK(sum == expected);
    CHECK(max_in_flight <= 2);
    CHECK(events.back().done_bytes == expected);
    CHECK(first.blobs_copied == 4);
    transfer::Session quiet_session({});
    transfer::Engine quiet(quiet_session);
    auto root = run_task(a.resolve("1.0.0"));
    CHECK(root.digest == packed->manifest_descriptor().digest);
    run_task(quiet.copy(a, b, root, "1.0.0"));
    CHECK(run_task(b.resolve("1.0.0")).digest == root.digest);
    auto third = run_task(quiet.copy(a, b, root, "1.0.0"));
    CHECK(third.blobs_copied == 0);
    CHECK(third.blobs_skipped == 4);

    auto out = tmp.path / "out";
    auto result = run_task(artifact::pull_to_directory(b, "1.0.0", out, quiet));
    CHECK(result.items.size() == 3);
    CHECK(read(out / "compiled_artifacts.json") == product);
    CHECK(read(out / "notes.txt") == "notes");
    CHECK(read(out / "models/a/b.sql") == "select 1");
    CHECK(fs::read_symlink(out / "models/link.sql") == "c.sql");
    for (auto& e : fs::directory_iterator(out))
        CHECK(e.path().filename().string().rfind(".floe-", 0) != 0); // staging is gone

    SUBCASE("existing output is not overwritten unless asked") {
        try {
            run_task(artifact::pull_to_directory(b, "1.0.0", out, quiet));
            FAIL("overwrote");
        } catch (const Error& e) {
            CHECK(e.errc() == Errc::conflict);
        }
        write(out / "notes.txt", "changed");
        run_task(artifact::pull_to_directory(b, "1.0.0", out, quiet, {.overwrite = true}));
        CHECK(read(out / "notes.txt") == "notes");
    }
}

TEST_CASE("pack refuses bad inputs with invalid_artifact") {
    TempDir tmp;
    write(tmp.path / "x/compiled_artifacts.json", R"({"version":"1"})");
    write(tmp.path / "a/same.txt", "1");
    write(tmp.path / "b/same.txt", "2");
    auto code = [](auto&& f) {
        try {
            f();
        } catch (const Error& e) {
            return e.errc();
        }
        return Errc::ok;
    };
    CHECK(code([&] { artifact::pack({tmp.path / "x/compiled_artifacts.json"}, {}); }) ==
          Errc::invalid_artifact);
    CHECK(code([&] { artifact::pack({tmp.path / "missing"}, {}); }) == Errc::invalid_artifact);
    CHECK(code([&] {
              artifact::pack({tmp.path / "a/same.txt", tmp.path / "b/same.txt"}, {});
          }) == Errc::invalid_artifact);
    fs::create_directories(tmp.path / "d");
    fs::create_symlink("/etc/passwd", tmp.path / "d/escape");
    CHECK(code([&] { artifact::pack({tmp.path / "d"}, {}); }) == Errc::invalid_artifact);
}

TEST_CASE("unpacking refuses entries that escape, and links that lead out") {
    TempDir tmp;
    struct Case {
        std::string name;
        int type;
        std::string link;
    };
    for (auto c : {Case{"../evil", AE_IFREG, ""}, Case{"/abs", AE_IFREG, ""},
                   Case{"a/../../evil", AE_IFREG, ""}, Case{"ln", AE_IFLNK, "/etc/passwd"},
                   Case{"ln", AE_IFLNK, "../../x"}, Case{"fifo", AE_IFIFO, ""}}) {
        CAPTURE(c.name);
        auto tar = tmp.path / "t.tar.gz";
        make_tar(tar, c.name, c.type, c.link);
        auto dest = tmp.path / "dest";
        CHECK(unpack_error(tar, dest) == Errc::unsafe_path);
        CHECK_FALSE(fs::exists(tmp.path / "evil"));
        fs::remove_all(dest);
    }
}

TEST_CASE("unpacking never writes through a link, whatever chain the tar builds") {
    TempDir tmp;
    auto dest = tmp.path / "dest";
    auto victim = tmp.path / "victim";
    fs::create_directories(victim);
    auto tar = tmp.path / "t.tar.gz";
    SUBCASE("a chain that is lexically inside: s -> ., a -> s/s/s/../../..") {
        make_tar(tar, {{"s", AE_IFLNK, "."}, {"a", AE_IFLNK, "s/s/s/../../.."}});
        CHECK(unpack_error(tar, dest) == Errc::unsafe_path);
    }
    SUBCASE("a file written through a link made earlier in the same tar") {
        make_tar(tar, {{"d", AE_IFLNK, "../../victim"}, {"d/x.txt"}});
        CHECK(unpack_error(tar, dest) == Errc::unsafe_path);
    }
    SUBCASE("a link inside that a later link turns outward") {
        make_tar(tar, {{"a", AE_IFLNK, "x/.."}, {"x", AE_IFLNK, "../../.."}});
        CHECK(unpack_error(tar, dest) == Errc::unsafe_path);
    }
    SUBCASE("a hard link to something outside") {
        make_tar(tar, {{"h", AE_IFREG, "", "../../victim/f"}});
        CHECK(unpack_error(tar, dest) == Errc::unsafe_path);
    }
    SUBCASE("a hard link to a file extracted before is fine") {
        make_tar(tar, {{"f", AE_IFREG, "", "", "data"},
                       {"h", AE_IFREG, "", "f"},
                       {"ok", AE_IFLNK, "f"},
                       {"sub/up", AE_IFLNK, "../f"}});
        CHECK(unpack_error(tar, dest) == Errc::ok);
        CHECK(read(dest / "pkg/h") == "data");
        CHECK(fs::read_symlink(dest / "pkg/sub/up") == "../f");
    }
    CHECK(fs::is_empty(victim));
}

TEST_CASE("unpacking stops at the size and entry caps") {
    TempDir tmp;
    auto tar = tmp.path / "t.tar.gz";
    make_tar(tar, {{"big", AE_IFREG, "", "", std::string(100000, 'z')}});
    CHECK(unpack_error(tar, tmp.path / "a", {50000, 10}) == Errc::verification_failed);
    CHECK(unpack_error(tar, tmp.path / "b", {200000, 10}) == Errc::ok);
    make_tar(tar, {{"1"}, {"2"}, {"3"}});
    CHECK(unpack_error(tar, tmp.path / "c", {1000, 2}) == Errc::verification_failed);
    auto l = artifact::unpack_limits(10 << 20);
    CHECK(l.max_bytes == 1000ull << 20);                                 // 100 times
    CHECK(artifact::unpack_limits(1000).max_bytes == 256ull << 20);      // the floor
    CHECK(artifact::unpack_limits(1ull << 40).max_bytes == 64ull << 30); // the ceiling
    CHECK(artifact::unpack_limits(1000, 5).max_bytes == 5);              // the user's word
}

#include "floe/artifact/digest_cache.hpp"

TEST_CASE("digest cache: remembers settled files, never racily new ones, misses changed ones") {
    TempDir tmp;
    auto file = tmp.path / "data.bin";
    write(file, "hello");
    auto digest = Digest::of("hello");
    auto now = std::chrono::system_clock::now();
    {
        artifact::DigestCache cache(tmp.path / "cache" / "file-digests");
        cache.remember(file, digest, now); // written this second: could change unseen
        CHECK_FALSE(cache.lookup(file));
        cache.remember(file, digest, now + std::chrono::seconds(5)); // as if hashed later
        CHECK(cache.lookup(file) == digest);
    }
    artifact::DigestCache reloaded(tmp.path / "cache" / "file-digests");
    CHECK(reloaded.lookup(file) == digest); // persisted
    write(file, "hello!"); // changed (a change within one clock tick is what the margin is for)
    CHECK_FALSE(reloaded.lookup(file));
    write(tmp.path / "cache" / "file-digests", "garbage line\n1 2 3\n");
    artifact::DigestCache damaged(tmp.path / "cache" / "file-digests");
    CHECK_FALSE(damaged.lookup(file)); // a damaged cache is an empty one
}
