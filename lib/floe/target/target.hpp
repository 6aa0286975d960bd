// The one abstraction (DESIGN.md): anything that holds content is a Target, keyed by descriptors.
// A registry repository and a local OCI image layout both implement it, so push, pull and
// mirroring are all the same copy between two Targets.
//
// Internal header: it exposes Asio's awaitable (not Beast). C++ callers use floe/client.hpp.
#pragma once

#include "floe/core/descriptor.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
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

class Target {
  public:
    virtual ~Target() = default;

    // For messages: "registry.example.com/team/product" or "ocidir://./out".
    virtual std::string describe() const = 0;

    virtual Task<bool> exists(const Descriptor& desc) = 0;
    // The blob's bytes from `offset` on. Not verified here: every push verifies what it stores,
    // and read_manifest() verifies manifests.
    virtual Task<std::unique_ptr<BlobReader>> fetch(const Descriptor& desc,
                                                    std::uint64_t offset = 0) = 0;
    // Afterwards the blob is stored under exactly desc.digest, or this threw and nothing is.
    virtual Task<void> push(const Descriptor& desc, BlobReader& source) = 0;

    // The manifest or index a tag or digest names.
    virtual Task<Descriptor> resolve(std::string_view reference) = 0;
    // A manifest's exact bytes, verified against desc (size and digest), at most 4 MiB.
    virtual Task<std::string> read_manifest(const Descriptor& desc) = 0;
    // Stores a manifest (exact bytes); with a non-empty tag, also points the tag at it.
    virtual Task<void> push_manifest(const Descriptor& desc, std::string_view bytes,
                                     std::string_view tag) = 0;
    // Points tag at an existing manifest.
    virtual Task<void> tag(const Descriptor& desc, std::string_view tag) = 0;
    virtual Task<std::vector<std::string>> tags() = 0;
};

// An optional ability: a push that can ask the source again from any offset, so an upload cut
// mid-way continues where the destination says it stands instead of starting over, and a blob
// may be linked from another repository instead of uploaded.
class ResumablePush {
  public:
    enum class Outcome { uploaded, mounted };
    using Open = std::function<Task<std::unique_ptr<BlobReader>>(std::uint64_t offset)>;
    virtual ~ResumablePush() = default;
    virtual Task<Outcome> push_from(const Descriptor& desc, Open open) = 0;
};

// An optional ability: store a blob whose digest is not known yet, hashing it on the way, so a
// large new file is read once (not once to hash and again to send). `desc` carries the media
// type, size and annotations; the result adds the digest. `open(offset)` reads the source from
// any offset: after a lost connection the upload continues where the destination stands.
class StreamingPush {
  public:
    virtual ~StreamingPush() = default;
    virtual Task<Descriptor> push_unknown(Descriptor desc, ResumablePush::Open open) = 0;
};

// An optional ability: bytes [offset, offset+length) of a blob, for fetching one large blob as
// several concurrent ranges. Throws Error(unsupported) when the source ignores ranges.
class RangedFetch {
  public:
    virtual ~RangedFetch() = default;
    virtual Task<std::unique_ptr<BlobReader>>
    fetch_range(const Descriptor& desc, std::uint64_t offset, std::uint64_t length) = 0;
};

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

// Waits on the calling coroutine's executor (backoff, Retry-After, the rate limit).
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

// A reader over a local file, from an offset; 1 MiB reads keep syscalls few.
class FileReader final : public BlobReader {
  public:
    FileReader(const std::string& path, std::uint64_t offset = 0);
    ~FileReader() override;
    FileReader(const FileReader&) = delete;
    FileReader& operator=(const FileReader&) = delete;
    Task<std::size_t> read(std::span<std::byte> buf) override;

  private:
    int fd_ = -1;
    std::string path_;
};

} // namespace floe
