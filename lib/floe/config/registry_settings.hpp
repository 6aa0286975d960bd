// Per-registry settings: how floe talks to one registry host (TLS trust, plain http, credentials,
// retry policy, concurrency, bandwidth, upload chunking). The CLI's flags fill the defaults;
// the registry configuration file (environments, mirrors) fills the per-host entries. Plain
// values, no Asio: part of the installed API.
#pragma once

#include "floe/auth/credentials.hpp"
#include "floe/core/circuit_breaker_settings.hpp"
#include "floe/core/retry_policy.hpp"

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace floe {

// A copy of this registry's repositories under `namespace_prefix` kept at `mirror` ("host[:port]
// [/namespace]"): pulls fail over to it when the registry is unavailable.
struct RegistryMirror {
    std::string namespace_prefix; // "" for every repository
    std::string mirror;
};

struct RegistrySettings {
    std::string ca_file;                   // extra trusted CA certificates (PEM)
    bool insecure_skip_tls_verify = false; // tests only: TLS without certificate checks
    bool plain_http = false;               // http:// even for a non-loopback host
    // mTLS, used by the HTTP client: a client certificate chain and its private key (PEM
    // files), both or neither.
    std::string client_cert;
    std::string client_key;
    // Where credentials come from; null: FLOE_REGISTRY_USERNAME/PASSWORD/TOKEN.
    std::shared_ptr<const CredentialStore> credentials;
    CredentialPolicy credential_policy; // which sources may answer for this registry
    RetryPolicy retry;
    // Fail fast once the host failed this many times in a row. Off unless a platform manifest
    // turns it on (its contract's default is on): without mirrors to fail over to, a retry
    // that waits is worth more than a quick failure.
    CircuitBreakerSettings circuit_breaker{.enabled = false};
    int concurrency = 4;                 // blobs in flight
    std::uint64_t limit_rate = 0;        // bytes per second for this registry; 0: the client's
    std::uint64_t chunk_size = 0;        // upload in PATCH chunks of this size; 0: one PUT
    std::vector<std::string> mount_from; // repositories (same registry) to link blobs from
    std::vector<RegistryMirror> mirrors; // in priority order; reads only
};

// The settings lookup: exact "host:port" first, then the host alone, then the defaults.
class RegistryConfig {
  public:
    RegistrySettings defaults;

    void set(std::string host, RegistrySettings settings) {
        hosts_[std::move(host)] = std::move(settings);
    }
    const RegistrySettings& lookup(std::string_view host) const {
        if (auto it = hosts_.find(host); it != hosts_.end())
            return it->second;
        if (auto colon = host.rfind(':'); colon != std::string_view::npos && host.back() != ']')
            if (auto it = hosts_.find(host.substr(0, colon)); it != hosts_.end())
                return it->second;
        return defaults;
    }

  private:
    std::map<std::string, RegistrySettings, std::less<>> hosts_;
};

} // namespace floe
