// The one abstraction (DESIGN.md): anything that holds content is a Target, keyed by descriptors.
// A registry repository, a local OCI image layout and a packed artifact all answer through the
// small abilities below, each implementing only what it can (the oras-go shape): the copy engine
// reads from a ReadOnlyTarget and writes into a Target, and asks for optional abilities (mount,
// ranged fetch, tag listing, referrers, delete) with dynamic_cast where they help.
//
// Internal header: it exposes Asio's awaitable (not Beast). C++ callers use floe/client.hpp.
#pragma once

#include "floe/core/descriptor.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace floe {

template <class T = void>
using Task = boost::asio::awaitable<T>;

// A one-way stream of bytes.
class BlobReader {
  public:
    virtual ~BlobReader() = default;
    // Fills up to buf.size() bytes and returns how many; 0 only at the end of the stream.
    virtual Task<std::size_t> read(std::span<std::byte> buf) = 0;
};

// Content that can be read again from any offset (a file, a blob in another Target, bytes in
// memory), so an interrupted transfer continues where the destination stands.
class BlobSource {
  public:
    virtual ~BlobSource() = default;
    // Bytes in total when known before reading; nullopt for content made on the way (a blob
    // compressed while it is uploaded), which destinations send until the source ends.
    virtual std::optional<std::uint64_t> size() const = 0;
    virtual Task<std::unique_ptr<BlobReader>> open(std::uint64_t offset) = 0;
    // Bytes [offset, offset+length) on their own, for fetching one large blob as several
    // concurrent ranges; nullptr when the source cannot (the caller reads it whole).
    virtual Task<std::unique_ptr<BlobReader>> open_range(std::uint64_t, std::uint64_t) {
        co_return nullptr;
    }
    // How many concurrent ranges the source is worth reading a large blob in (1: one stream).
    virtual int range_parts() const { return 1; }
};

// ---- Abilities --------------------------------------------------------------------------------

class Describable {
  public:
    virtual ~Describable() = default;
    // For messages: "registry.example.com/team/product" or "ocidir://./out".
    virtual std::string describe() const = 0;
};

class Fetcher : public virtual Describable {
  public:
    // The blob's bytes from `offset` on. Not verified here: every push verifies what it stores,
    // and read_manifest() verifies manifests.
    virtual Task<std::unique_ptr<BlobReader>> fetch(const Descriptor& desc,
                                                    std::uint64_t offset = 0) = 0;
};

class ExistenceChecker : public virtual Describable {
  public:
    virtual Task<bool> exists(const Descriptor& desc) = 0;
};

class Pusher : public virtual Describable {
  public:
    // Stores a blob; afterwards it is there under exactly the returned digest, or this threw
    // and nothing is. With an empty desc.digest the content is hashed on the way (a large new
    // file read once); with an unknown source size it is sent until the source ends. The result
    // is desc with digest and size filled in.
    virtual Task<Descriptor> push(Descriptor desc, BlobSource& source) = 0;
};

class ManifestReader : public virtual Describable {
  public:
    // A manifest's exact bytes, verified against desc (size and digest), at most 4 MiB.
    virtual Task<std::string> read_manifest(const Descriptor& desc) = 0;
};

class ManifestStore : public virtual ManifestReader {
  public:
    // Stores a manifest (exact bytes); with a non-empty tag, also points the tag at it.
    virtual Task<void> push_manifest(const Descriptor& desc, std::string_view bytes,
                                     std::string_view tag) = 0;
};

class Resolver : public virtual Describable {
  public:
    // The manifest or index a tag or digest names.
    virtual Task<Descriptor> resolve(std::string_view reference) = 0;
};

class TagResolver : public virtual Resolver {
  public:
    // Points tag at an existing manifest.
    virtual Task<void> tag(const Descriptor& desc, std::string_view tag) = 0;
};

// One page of a tag listing; `next` is an opaque cursor for the following page.
struct TagPage {
    std::vector<std::string> tags;
    std::optional<std::string> next;
};

class TagLister : public virtual Describable {
  public:
    // Up to `page_size` tags after `cursor` (nullopt: from the start).
    virtual Task<TagPage> list_tags(const std::optional<std::string>& cursor,
                                    std::size_t page_size) = 0;
};

class ReferrerLister : public virtual Describable {
  public:
    // Manifests whose subject is `subject`, optionally of one artifact type.
    virtual Task<std::vector<Descriptor>> referrers(const Descriptor& subject,
                                                    std::string_view artifact_type) = 0;
};

class Deleter : public virtual Describable {
  public:
    // Removes a manifest (by digest) or a blob. Errc::unsupported where the store forbids it.
    virtual Task<void> remove(const Descriptor& desc) = 0;
};

class Mounter : public virtual Describable {
  public:
    // Links a blob from another repository of the same store instead of sending it; false when
    // the store declined (then push as usual).
    virtual Task<bool> mount(const Descriptor& desc, std::string_view from_repository) = 0;
};

class RangeFetcher : public virtual Describable {
  public:
    // Bytes [offset, offset+length) of a blob. Throws Error(unsupported) when ranges are ignored.
    virtual Task<std::unique_ptr<BlobReader>>
    fetch_range(const Descriptor& desc, std::uint64_t offset, std::uint64_t length) = 0;
};

// ---- What a copy reads from and writes into ---------------------------------------------------

class ReadOnlyTarget : public virtual Fetcher,
                       public virtual ManifestReader,
                       public virtual Resolver {};

class Target : public virtual ReadOnlyTarget,
               public virtual ExistenceChecker,
               public virtual Pusher,
               public virtual ManifestStore,
               public virtual TagResolver {};

// Every tag, following the pages to the end.
Task<std::vector<std::string>> all_tags(TagLister& lister, std::size_t page_size = 1000);

// ---- Readers and sources ----------------------------------------------------------------------

// Feeds what passes through it to a hasher.
class HashingReader final : public BlobReader {
  public:
    HashingReader(BlobReader& inner, Hasher& hasher) : inner_(inner), hasher_(hasher) {}
    Task<std::size_t> read(std::span<std::byte> buf) override;

  private:
    BlobReader& inner_;
    Hasher& hasher_;
};

// A reader that stops after `limit` bytes of another (one upload chunk).
class LimitedReader final : public BlobReader {
  public:
    LimitedReader(BlobReader& inner, std::uint64_t limit) : inner_(inner), left_(limit) {}
    Task<std::size_t> read(std::span<std::byte> buf) override;

  private:
    BlobReader& inner_;
    std::uint64_t left_;
};

// Waits on the calling coroutine's executor (backoff, Retry-After, the rate limit). Cancellable.
Task<void> sleep_for(std::chrono::steady_clock::duration duration);

// Reads a whole small stream into memory, failing with Errc::too_large past `cap` bytes.
Task<std::string> read_all(BlobReader& reader, std::size_t cap);

// Checks bytes against a descriptor: exact size and digest. Throws verification_failed.
void verify_bytes(const Descriptor& desc, std::string_view bytes, std::string_view where);

// A reader over bytes held in memory (manifests, the empty config).
class MemoryReader final : public BlobReader {
  public:
    explicit MemoryReader(std::string bytes) : bytes_(std::move(bytes)) {}
    Task<std::size_t> read(std::span<std::byte> buf) override;

  private:
    std::string bytes_;
    std::size_t pos_ = 0;
};

class MemorySource final : public BlobSource {
  public:
    explicit MemorySource(std::string bytes) : bytes_(std::move(bytes)) {}
    std::optional<std::uint64_t> size() const override { return bytes_.size(); }
    Task<std::unique_ptr<BlobReader>> open(std::uint64_t offset) override;

  private:
    std::string bytes_;
};

// A reader over a local file, from an offset; 1 MiB reads keep syscalls few.
class FileReader final : public BlobReader {
  public:
    FileReader(const std::string& path, std::uint64_t offset = 0);
    ~FileReader() override;
    FileReader(const FileReader&) = delete;
    FileReader& operator=(const FileReader&) = delete;
    Task<std::size_t> read(std::span<std::byte> buf) override;
    int fd() const { return fd_; }

  private:
    int fd_ = -1;
    std::string path_;
};

// A local file as a source, for content hashed while it is sent: what the file looked like
// (size, inode, mtime, ctime) when first opened is checked again whenever a reader reaches its
// end, so a file rewritten in place during the push fails it (Errc::io) before any manifest
// names content that never existed on disk.
class FileSource final : public BlobSource {
  public:
    FileSource(std::string path, std::uint64_t size) : path_(std::move(path)), size_(size) {}
    std::optional<std::uint64_t> size() const override { return size_; }
    Task<std::unique_ptr<BlobReader>> open(std::uint64_t offset) override;

    struct Snapshot {
        std::uint64_t size = 0, inode = 0, device = 0;
        std::int64_t mtime_ns = 0, ctime_ns = 0;
        friend bool operator==(const Snapshot&, const Snapshot&) = default;
    };

  private:
    std::string path_;
    std::uint64_t size_;
    std::optional<Snapshot> first_;
};

// A blob in another Target as a source (what the copy engine hands to a destination).
class FetchSource final : public BlobSource {
  public:
    FetchSource(Fetcher& from, Descriptor blob, int range_parts = 1)
        : from_(from), blob_(std::move(blob)), range_parts_(range_parts) {}
    std::optional<std::uint64_t> size() const override { return blob_.size; }
    Task<std::unique_ptr<BlobReader>> open(std::uint64_t offset) override {
        return from_.fetch(blob_, offset);
    }
    Task<std::unique_ptr<BlobReader>> open_range(std::uint64_t offset,
                                                 std::uint64_t length) override;
    int range_parts() const override { return range_parts_; }

  private:
    Fetcher& from_;
    Descriptor blob_;
    int range_parts_;
};

} // namespace floe
