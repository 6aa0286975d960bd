#include "floe/artifact/pack.hpp"

#include "floe/artifact/safe_path.hpp"
#include "floe/core/printable.hpp"

#include "floe/artifact/compiled_artifacts.hpp"
#include "floe/core/error.hpp"
#include "floe/core/media_types.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <fstream>
#include <set>
#include <unistd.h>

namespace floe::artifact {
namespace fs = std::filesystem;

namespace {

std::optional<std::int64_t> source_date_epoch() {
    const char* v = std::getenv("SOURCE_DATE_EPOCH");
    if (!v || !*v)
        return std::nullopt;
    char* end = nullptr;
    long long n = std::strtoll(v, &end, 10);
    if (*end != '\0' || n < 0)
        fail(Errc::invalid_argument, "SOURCE_DATE_EPOCH must be a whole number of seconds");
    return n;
}

std::string read_capped(const fs::path& p, std::size_t cap) {
    auto size = fs::file_size(p);
    if (size > cap)
        fail(Errc::invalid_artifact, p.string() + " is larger than " + std::to_string(cap >> 20) +
                                         " MiB; that is not a compiled_artifacts.json");
    std::ifstream in(p, std::ios::binary);
    std::string s(size, '\0');
    in.read(s.data(), static_cast<std::streamsize>(size));
    return s;
}

} // namespace

std::string created_timestamp() {
    auto epoch = source_date_epoch();
    std::time_t t = epoch ? static_cast<std::time_t>(*epoch) : std::time(nullptr);
    std::tm tm{};
    gmtime_r(&t, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

Descriptor describe_file(const fs::path& path, std::string media_type) {
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        fail(errno == ENOENT ? Errc::invalid_artifact : Errc::io,
             "cannot read " + path.string() + ": " + std::strerror(errno));
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
    Hasher hasher;
    std::vector<std::byte> buf(1024 * 1024);
    std::uint64_t total = 0;
    while (true) {
        auto n = ::read(fd, buf.data(), buf.size());
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            ::close(fd);
            fail(Errc::io, "cannot read " + path.string() + ": " + std::strerror(errno));
        }
        if (n == 0)
            break;
        hasher.update(std::span<const std::byte>(buf.data(), static_cast<std::size_t>(n)));
        total += static_cast<std::uint64_t>(n);
    }
    ::close(fd);
    Descriptor d;
    d.media_type = std::move(media_type);
    d.digest = hasher.finish();
    d.size = total;
    return d;
}

std::unique_ptr<PackedArtifact> pack(const std::vector<fs::path>& paths,
                                     const PackOptions& options) {
    if (paths.empty())
        fail(Errc::invalid_argument, "nothing to push: give at least one file or directory");
    std::unique_ptr<PackedArtifact> art(new PackedArtifact());
    Manifest& m = art->manifest_;
    m.media_type = std::string(media_type::oci_manifest);
    m.config = empty_config_descriptor();
    std::optional<ProductInfo> product;
    std::set<std::string> titles;

    for (auto& path : paths) {
        std::error_code ec;
        auto status = fs::status(path, ec);
        if (ec || !fs::exists(status))
            fail(Errc::invalid_artifact,
                 "cannot push " + path.string() + ": no such file or directory");
        auto title = path.filename().string();
        if (title.empty() || title == "." || title == "..")
            title = fs::absolute(path).lexically_normal().parent_path().filename().string();
        if (has_control_characters(title))
            fail(Errc::invalid_artifact, "the name '" + printable(title) +
                                             "' contains control characters; rename it before "
                                             "pushing");
        if (!titles.insert(title).second)
            fail(Errc::invalid_artifact, "two inputs are named '" + title +
                                             "'; rename one, or push their common directory");
        Descriptor layer;
        if (fs::is_directory(status)) {
            if (art->scratch_.empty()) {
                // $TMPDIR (or /tmp): directory tars are temporary files like any other
                std::string tmpl = (fs::temp_directory_path() / "floe-pack-XXXXXX").string();
                if (const char* dir = ::mkdtemp(tmpl.data()))
                    art->scratch_ = dir;
                else
                    fail(Errc::io, std::string("cannot create a temporary directory: ") +
                                       std::strerror(errno));
            }
            bool zstd = options.compression == Compression::zstd;
            auto tar = art->scratch_ / (title + (zstd ? ".tar.zst" : ".tar.gz"));
            pack_directory(path, tar, options.compression, source_date_epoch());
            layer = describe_file(tar, std::string(zstd ? media_type::oci_layer_tar_zstd
                                                        : media_type::oci_layer_tar_gzip));
            layer.annotations[std::string(annotation::unpack)] = "true";
            art->files_[layer.digest] = tar;
        } else if (fs::is_regular_file(status)) {
            std::string type(media_type::floe_file);
            if (title == compiled_artifacts_name) {
                if (product)
                    fail(Errc::invalid_artifact, "only one compiled_artifacts.json per artifact");
                // Read once: validated and hashed from the same bytes, pushed byte for byte.
                auto bytes = read_capped(path, 256u << 20);
                product = validate_compiled_artifacts(bytes, path.string());
                layer = Descriptor{std::string(media_type::floe_compiled_artifacts),
                                   Digest::of(bytes),
                                   bytes.size(),
                                   {},
                                   {}};
                art->files_[layer.digest] = path;
            } else if (auto cached = options.cache ? options.cache->lookup(path) : std::nullopt) {
                layer = Descriptor{type, *cached, fs::file_size(path), {}, {}};
                art->files_[layer.digest] = path;
            } else if (auto size = fs::file_size(path);
                       options.defer_hashing_over && size > options.defer_hashing_over) {
                layer = Descriptor{type, {}, size, {}, {}};
                art->pending_.push_back({m.layers.size(), path, std::chrono::system_clock::now()});
            } else {
                auto began = std::chrono::system_clock::now();
                layer = describe_file(path, type);
                art->files_[layer.digest] = path;
                if (options.cache)
                    options.cache->remember(path, layer.digest, began);
            }
        } else {
            fail(Errc::invalid_artifact, path.string() + " is neither a file nor a directory");
        }
        layer.annotations[std::string(annotation::title)] = title;
        m.layers.push_back(std::move(layer));
    }

    m.artifact_type = !options.artifact_type.empty() ? options.artifact_type
                      : product ? std::string(media_type::floe_compiled_artifacts)
                                : std::string(media_type::floe_bundle);
    m.annotations[std::string(annotation::created)] =
        options.created.empty() ? created_timestamp() : options.created;
    if (product) {
        m.annotations[std::string(annotation::product_name)] = product->name;
        m.annotations[std::string(annotation::product_version)] = product->version;
        m.annotations[std::string(annotation::artifacts_version)] = product->artifacts_version;
    }
    for (auto& [k, v] : options.annotations)
        m.annotations[k] = v; // the user's word wins, including over created

    art->cache_ = options.cache;
    art->product_ = product;
    if (art->pending_.empty())
        art->finalize();
    return art;
}

void PackedArtifact::set_digest(std::size_t layer, const Digest& digest) {
    auto it =
        std::find_if(pending_.begin(), pending_.end(), [&](auto& p) { return p.layer == layer; });
    if (it == pending_.end())
        fail(Errc::invalid_argument, "layer " + std::to_string(layer) + " is not pending");
    manifest_.layers.at(layer).digest = digest;
    files_[digest] = it->path;
    if (cache_)
        cache_->remember(it->path, digest, it->packed_at);
    pending_.erase(it);
}

void PackedArtifact::hash_pending() {
    while (!pending_.empty()) {
        auto p = pending_.front();
        set_digest(p.layer, describe_file(p.path, "").digest);
    }
}

void PackedArtifact::finalize() {
    if (!pending_.empty())
        fail(Errc::invalid_argument, "the manifest cannot be built before every digest is known");
    manifest_bytes_ = serialize(manifest_);
    manifest_desc_.media_type = manifest_.media_type;
    manifest_desc_.digest = Digest::of(manifest_bytes_);
    manifest_desc_.size = manifest_bytes_.size();
    manifest_desc_.artifact_type = manifest_.artifact_type;
}

PackedArtifact::~PackedArtifact() {
    if (!scratch_.empty()) {
        std::error_code ec;
        fs::remove_all(scratch_, ec);
    }
}

Task<std::unique_ptr<BlobReader>> PackedArtifact::fetch(const Descriptor& desc,
                                                        std::uint64_t offset) {
    if (desc.digest == manifest_.config.digest)
        co_return std::make_unique<MemoryReader>(std::string(empty_config_bytes).substr(offset));
    auto it = files_.find(desc.digest);
    if (it == files_.end())
        fail(Errc::not_found, "no local file holds " + desc.digest.str());
    co_return std::make_unique<FileReader>(it->second.string(), offset);
}

Task<Descriptor> PackedArtifact::resolve(std::string_view) {
    co_return manifest_desc_;
}

Task<std::string> PackedArtifact::read_manifest(const Descriptor& desc) {
    if (desc.digest != manifest_desc_.digest)
        fail(Errc::not_found, "no local manifest " + desc.digest.str());
    co_return manifest_bytes_;
}

} // namespace floe::artifact
