// Content digests ("sha256:<hex>") and the streaming hasher behind every verification.
#pragma once

#include <cstddef>
#include <memory>
#include <span>
#include <string>
#include <string_view>

namespace floe {

enum class DigestAlgorithm { sha256, sha512 };

class Digest {
  public:
    Digest() = default;
    // Throws Error(invalid_reference) unless text is "<algorithm>:<lowercase hex>" with the
    // algorithm's exact length.
    static Digest parse(std::string_view text);
    static bool is_valid(std::string_view text) noexcept;
    static Digest of(std::string_view bytes, DigestAlgorithm algo = DigestAlgorithm::sha256);

    DigestAlgorithm algorithm() const noexcept { return algo_; }
    std::string_view algorithm_name() const noexcept;
    const std::string& hex() const noexcept { return hex_; }
    std::string str() const { return std::string(algorithm_name()) + ":" + hex_; }
    bool empty() const noexcept { return hex_.empty(); }

    friend bool operator==(const Digest&, const Digest&) = default;
    friend auto operator<=>(const Digest& a, const Digest& b) { return a.str() <=> b.str(); }

  private:
    friend class Hasher;
    Digest(DigestAlgorithm algo, std::string hex) : algo_(algo), hex_(std::move(hex)) {}
    DigestAlgorithm algo_ = DigestAlgorithm::sha256;
    std::string hex_;
};

// Incremental hash over OpenSSL EVP; feed it the bytes as they pass through.
class Hasher {
  public:
    explicit Hasher(DigestAlgorithm algo = DigestAlgorithm::sha256);
    ~Hasher();
    Hasher(Hasher&&) noexcept;
    Hasher& operator=(Hasher&&) noexcept;

    void update(std::span<const std::byte> bytes);
    void update(std::string_view bytes);
    Digest finish(); // the hasher is reset afterwards
    DigestAlgorithm algorithm() const noexcept { return algo_; }

  private:
    struct Ctx;
    std::unique_ptr<Ctx> ctx_;
    DigestAlgorithm algo_;
};

} // namespace floe
