#include "floe/layout/layout_target.hpp"

#include "floe/core/error.hpp"
#include "floe/core/media_types.hpp"
#include "floe/layout/atomic_file.hpp"
#include "floe/layout/ingest.hpp"

#include <algorithm>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <unistd.h>
#include <vector>

namespace floe::layout {
namespace fs = std::filesystem;

namespace {

constexpr std::string_view oci_layout_file = R"({"imageLayoutVersion":"1.0.0"})";

std::string read_small_file(const fs::path& p, std::size_t cap) {
    std::error_code ec;
    auto size = fs::file_size(p, ec);
    if (ec)
        fail(Errc::not_found, "cannot read " + p.string() + ": " + ec.message());
    if (size > cap)
        fail(Errc::too_large, p.string() + " is larger than " + std::to_string(cap) + " bytes");
    std::ifstream in(p, std::ios::binary);
    std::string out(size, '\0');
    in.read(out.data(), static_cast<std::streamsize>(size));
    if (!in)
        fail(Errc::io, "cannot read " + p.string());
    return out;
}

// Holds an exclusive flock on <root>/.floe.lock for the life of the object.
class LayoutLock {
  public:
    explicit LayoutLock(const fs::path& root) {
        fd_ = ::open((root / ".floe.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
        if (fd_ < 0 || ::flock(fd_, LOCK_EX) != 0)
            fail(Errc::io, "cannot lock " + root.string());
    }
    ~LayoutLock() { ::close(fd_); }
    LayoutLock(const LayoutLock&) = delete;
    LayoutLock& operator=(const LayoutLock&) = delete;

  private:
    int fd_ = -1;
};

} // namespace

LayoutTarget::LayoutTarget(fs::path root, bool durable)
    : root_(std::move(root)), durable_(durable) {}

std::string LayoutTarget::describe() const {
    return "ocidir://" + root_.string();
}

fs::path LayoutTarget::blob_path(const Digest& d) const {
    return root_ / "blobs" / std::string(d.algorithm_name()) / d.hex();
}

void LayoutTarget::ensure_layout() {
    std::error_code ec;
    fs::create_directories(root_ / "blobs", ec);
    if (ec)
        fail(Errc::io, "cannot create " + root_.string() + ": " + ec.message());
    if (!fs::exists(root_ / "oci-layout"))
        write_file_atomic(root_ / "oci-layout", oci_layout_file);
    if (!fs::exists(root_ / "index.json")) {
        Index empty;
        empty.media_type = std::string(media_type::oci_index);
        write_file_atomic(root_ / "index.json", serialize(empty));
    }
}

Index LayoutTarget::read_index() const {
    auto path = root_ / "index.json";
    if (!fs::exists(path)) {
        if (!fs::exists(root_))
            fail(Errc::not_found, "no OCI layout at " + root_.string() + " (directory missing)");
        fail(Errc::not_found, root_.string() + " is not an OCI layout (no index.json)");
    }
    return parse_index(read_small_file(path, max_manifest_bytes));
}

Task<bool> LayoutTarget::exists(const Descriptor& desc) {
    std::error_code ec;
    auto size = fs::file_size(blob_path(desc.digest), ec);
    co_return !ec && size == desc.size;
}

Task<std::unique_ptr<BlobReader>> LayoutTarget::fetch(const Descriptor& desc,
                                                      std::uint64_t offset) {
    auto path = blob_path(desc.digest);
    if (!fs::exists(path))
        fail(Errc::not_found, "blob " + desc.digest.str() + " is missing from " + describe());
    co_return std::make_unique<FileReader>(path.string(), offset);
}

fs::path LayoutTarget::ingest_path(const Digest& d) const {
    return root_ / "ingest" / (std::string(d.algorithm_name()) + "-" + d.hex());
}

Task<Descriptor> LayoutTarget::push(Descriptor desc, BlobSource& source) {
    ensure_layout();
    if (desc.digest.empty())
        co_return co_await push_unhashed(std::move(desc), source);
    if (co_await exists(desc))
        co_return desc;
    std::error_code ec;
    fs::create_directories(root_ / "ingest", ec);
    fs::create_directories(blob_path(desc.digest).parent_path(), ec);
    if (ec)
        fail(Errc::io, "cannot create " + root_.string() + ": " + ec.message());
    PartialFile file(ingest_path(desc.digest));
    co_await receive_blob(source, desc, file,
                          describe() + " <- " + std::to_string(desc.size) + "-byte blob");
    file.commit(blob_path(desc.digest), durable_);
    co_return desc;
}

// A blob whose digest is learned while it is copied in (a large new file read once).
Task<Descriptor> LayoutTarget::push_unhashed(Descriptor desc, BlobSource& source) {
    auto reader = co_await source.open(0);
    auto dir = root_ / "blobs" / "sha256";
    fs::create_directories(dir);
    TempFile tmp(dir);
    Hasher hasher;
    std::vector<std::byte> buf(1024 * 1024);
    std::uint64_t total = 0;
    while (auto n = co_await reader->read(buf)) {
        std::span<const std::byte> chunk(buf.data(), n);
        hasher.update(chunk);
        tmp.write(chunk);
        total += n;
    }
    if (auto expected = source.size(); expected && total != *expected)
        fail(Errc::io, "the source changed size while it was copied into " + describe());
    desc.digest = hasher.finish();
    desc.size = total;
    if (!co_await exists(desc))
        tmp.commit(blob_path(desc.digest), durable_);
    co_return desc;
}

Task<Descriptor> LayoutTarget::resolve(std::string_view reference) {
    if (Digest::is_valid(reference)) {
        Descriptor d;
        d.digest = Digest::parse(reference);
        auto path = blob_path(d.digest);
        std::error_code ec;
        d.size = fs::file_size(path, ec);
        if (ec)
            fail(Errc::not_found, std::string(reference) + " not found in " + describe());
        auto bytes = read_small_file(path, max_manifest_bytes);
        d.media_type = sniff_media_type(bytes);
        co_return d;
    }
    auto index = read_index();
    for (auto& m : index.manifests)
        if (m.annotation(annotation::ref_name) == reference) {
            Descriptor d = m;
            d.annotations.erase(std::string(annotation::ref_name));
            co_return d;
        }
    fail(Errc::not_found, "tag '" + std::string(reference) + "' not found in " + describe());
}

Task<std::string> LayoutTarget::read_manifest(const Descriptor& desc) {
    auto path = blob_path(desc.digest);
    if (!fs::exists(path))
        fail(Errc::not_found, "manifest " + desc.digest.str() + " is missing from " + describe());
    auto bytes = read_small_file(path, max_manifest_bytes);
    verify_bytes(desc, bytes, "manifest in " + describe());
    co_return bytes;
}

Task<void> LayoutTarget::push_manifest(const Descriptor& desc, std::string_view bytes,
                                       std::string_view tag_name) {
    verify_bytes(desc, bytes, "manifest for " + describe());
    if (!co_await exists(desc)) {
        MemorySource source{std::string(bytes)};
        co_await push(desc, source);
    }
    if (!tag_name.empty())
        co_await tag(desc, tag_name);
}

Task<void> LayoutTarget::tag(const Descriptor& desc, std::string_view tag_name) {
    ensure_layout();
    if (!co_await exists(desc))
        fail(Errc::not_found, "cannot tag " + desc.digest.str() + ": it is not in " + describe());
    LayoutLock lock(root_);
    auto index = read_index();
    std::erase_if(index.manifests, [&](const Descriptor& m) {
        return m.annotation(annotation::ref_name) == tag_name;
    });
    Descriptor entry{desc.media_type, desc.digest, desc.size, desc.artifact_type, {}};
    entry.annotations[std::string(annotation::ref_name)] = std::string(tag_name);
    index.manifests.push_back(std::move(entry));
    if (index.media_type.empty())
        index.media_type = std::string(media_type::oci_index);
    write_file_atomic(root_ / "index.json", serialize(index));
    co_return;
}

Task<TagPage> LayoutTarget::list_tags(const std::optional<std::string>& cursor,
                                      std::size_t page_size) {
    TagPage page;
    if (!fs::exists(root_ / "index.json"))
        co_return page;
    std::vector<std::string> all;
    for (auto& m : read_index().manifests)
        if (auto t = m.annotation(annotation::ref_name); !t.empty())
            all.push_back(t);
    std::sort(all.begin(), all.end());
    all.erase(std::unique(all.begin(), all.end()), all.end());
    auto from = cursor ? std::upper_bound(all.begin(), all.end(), *cursor) : all.begin();
    for (auto it = from; it != all.end(); ++it) {
        if (page.tags.size() == page_size) {
            page.next = page.tags.back();
            break;
        }
        page.tags.push_back(*it);
    }
    co_return page;
}

Task<void> LayoutTarget::remove(const Descriptor& desc) {
    auto path = blob_path(desc.digest);
    if (!fs::exists(path))
        fail(Errc::not_found, desc.digest.str() + " is not in " + describe());
    if (media_type::is_manifest_or_index(desc.media_type)) {
        // Tags naming it go first, so no tag is left pointing at nothing.
        LayoutLock lock(root_);
        auto index = read_index();
        std::erase_if(index.manifests,
                      [&](const Descriptor& m) { return m.digest == desc.digest; });
        write_file_atomic(root_ / "index.json", serialize(index));
    }
    std::error_code ec;
    fs::remove(path, ec);
    if (ec)
        fail(Errc::io, "cannot remove " + path.string() + ": " + ec.message());
    co_return;
}

} // namespace floe::layout
