#include "floe/core/digest.hpp"

#include "floe/core/error.hpp"

#include <openssl/evp.h>

namespace floe {
namespace {

constexpr std::size_t hex_length(DigestAlgorithm algo) {
    return algo == DigestAlgorithm::sha256 ? 64 : 128;
}

bool is_lower_hex(std::string_view s) {
    for (char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    return true;
}

const EVP_MD* evp_for(DigestAlgorithm algo) {
    return algo == DigestAlgorithm::sha256 ? EVP_sha256() : EVP_sha512();
}

} // namespace

std::string_view Digest::algorithm_name() const noexcept {
    return algo_ == DigestAlgorithm::sha256 ? "sha256" : "sha512";
}

bool Digest::is_valid(std::string_view text) noexcept {
    auto colon = text.find(':');
    if (colon == std::string_view::npos)
        return false;
    auto algo = text.substr(0, colon);
    auto hex = text.substr(colon + 1);
    DigestAlgorithm a;
    if (algo == "sha256")
        a = DigestAlgorithm::sha256;
    else if (algo == "sha512")
        a = DigestAlgorithm::sha512;
    else
        return false;
    return hex.size() == hex_length(a) && is_lower_hex(hex);
}

Digest Digest::parse(std::string_view text) {
    if (!is_valid(text))
        fail(Errc::invalid_reference,
             "invalid digest '" + std::string(text.substr(0, 140)) +
                 "': expected sha256:<64 lowercase hex> or sha512:<128 lowercase hex>");
    auto colon = text.find(':');
    auto algo =
        text.substr(0, colon) == "sha256" ? DigestAlgorithm::sha256 : DigestAlgorithm::sha512;
    return Digest(algo, std::string(text.substr(colon + 1)));
}

Digest Digest::of(std::string_view bytes, DigestAlgorithm algo) {
    Hasher h(algo);
    h.update(bytes);
    return h.finish();
}

struct Hasher::Ctx {
    EVP_MD_CTX* md = EVP_MD_CTX_new();
    ~Ctx() { EVP_MD_CTX_free(md); }
};

Hasher::Hasher(DigestAlgorithm algo) : ctx_(std::make_unique<Ctx>()), algo_(algo) {
    if (!ctx_->md || EVP_DigestInit_ex(ctx_->md, evp_for(algo), nullptr) != 1)
        throw std::bad_alloc();
}
Hasher::~Hasher() = default;
Hasher::Hasher(Hasher&&) noexcept = default;
Hasher& Hasher::operator=(Hasher&&) noexcept = default;

void Hasher::update(std::span<const std::byte> bytes) {
    EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size());
}

void Hasher::update(std::string_view bytes) {
    EVP_DigestUpdate(ctx_->md, bytes.data(), bytes.size());
}

Digest Hasher::finish() {
    unsigned char out[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    EVP_DigestFinal_ex(ctx_->md, out, &len);
    static constexpr char digits[] = "0123456789abcdef";
    std::string hex(len * 2, '0');
    for (unsigned i = 0; i < len; ++i) {
        hex[2 * i] = digits[out[i] >> 4];
        hex[2 * i + 1] = digits[out[i] & 0xf];
    }
    EVP_DigestInit_ex(ctx_->md, evp_for(algo_), nullptr);
    return Digest(algo_, std::move(hex));
}

} // namespace floe
