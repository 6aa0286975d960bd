// Cloud registry credentials: ECR (SigV4 is in sigv4_test.cpp), GCR / Artifact Registry and ACR.
// Two sections, each owned by its source; each brings its own includes.

// --- ECR ---
#include "floe/auth/cloud/ecr.hpp"
#include "floe/core/base64.hpp"
#include "floe/core/error.hpp"

#include <doctest/doctest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>

namespace {

namespace ecr = floe::auth::ecr;
using floe::auth::EcrHost;
using floe::auth::parse_ecr_host;

// An environment made of a map, so tests never depend on the real one.
ecr::Getenv ecr_env(std::map<std::string, std::string> vars) {
    return [vars = std::move(vars)](std::string_view name) -> std::optional<std::string> {
        auto it = vars.find(std::string(name));
        if (it == vars.end() || it->second.empty())
            return std::nullopt;
        return it->second;
    };
}

// A fresh directory for a test's AWS files, removed at the end.
struct EcrTempDir {
    std::filesystem::path path;
    EcrTempDir() {
        static int n = 0;
        path = std::filesystem::temp_directory_path() /
               ("floe-ecr-test-" + std::to_string(::getpid()) + "-" + std::to_string(++n));
        std::filesystem::create_directories(path);
    }
    ~EcrTempDir() {
        std::error_code ec;
        std::filesystem::remove_all(path, ec);
    }
    std::string write(const std::string& name, const std::string& text) const {
        std::ofstream(path / name) << text;
        return (path / name).string();
    }
};

floe::Errc ecr_error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const floe::Error& e) {
        return e.errc();
    }
    return floe::Errc::ok;
}

} // namespace

TEST_CASE("ecr: registry hosts") {
    auto h = parse_ecr_host("123456789012.dkr.ecr.us-east-1.amazonaws.com");
    REQUIRE(h);
    CHECK(h->account == "123456789012");
    CHECK(h->region == "us-east-1");
    CHECK_FALSE(h->fips);
    CHECK_FALSE(h->china);

    h = parse_ecr_host("123456789012.DKR.ECR.EU-West-3.AmazonAWS.com:443");
    REQUIRE(h);
    CHECK(h->region == "eu-west-3");

    h = parse_ecr_host("210987654321.dkr.ecr-fips.us-gov-west-1.amazonaws.com");
    REQUIRE(h);
    CHECK(h->fips);
    CHECK(h->region == "us-gov-west-1");

    h = parse_ecr_host("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn");
    REQUIRE(h);
    CHECK(h->china);
    CHECK(h->region == "cn-north-1");

    for (auto other :
         {"12345678901.dkr.ecr.us-east-1.amazonaws.com", // 11 digits
          "1234567890123.dkr.ecr.us-east-1.amazonaws.com",
          "12345678901a.dkr.ecr.us-east-1.amazonaws.com",
          "123456789012.dkr.ecr.us-east-1.amazonaws.com:5000",
          "123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example",
          "x.123456789012.dkr.ecr.us-east-1.amazonaws.com",
          "123456789012.dkr.ecr.us-east-1.amazonaws.org", "123456789012.dkr.ecr..amazonaws.com",
          "123456789012.dkr.ecr.us_east_1.amazonaws.com",
          "123456789012.dkr.ecr.us-east-1.amazonaws.com.de", "public.ecr.aws", "127.0.0.1:5000",
          "gcr.io", ""})
        CHECK_MESSAGE(!parse_ecr_host(other), other);
}

TEST_CASE("ecr: shared credentials and config files") {
    auto creds = ecr::parse_profiles("# comment\n"
                                     "[default]\n"
                                     "aws_access_key_id = AKIADEFAULT\n"
                                     "aws_secret_access_key=secret/with+chars=\r\n"
                                     "; another comment\n"
                                     "[dev]\n"
                                     "  AWS_ACCESS_KEY_ID =  AKIADEV  \n"
                                     "garbage line\n",
                                     false);
    REQUIRE(creds.size() == 2);
    CHECK(creds["default"]["aws_access_key_id"] == "AKIADEFAULT");
    CHECK(creds["default"]["aws_secret_access_key"] == "secret/with+chars=");
    // An indented first line of a section is a nested setting's continuation, not a key.
    CHECK(creds["dev"].empty());

    auto config = ecr::parse_profiles("[default]\nregion = us-east-1\n"
                                      "[profile dev]\n"
                                      "aws_access_key_id = AKIADEV\n"
                                      "s3 =\n"
                                      "  max_concurrent_requests = 2\n"
                                      "region = eu-west-1\n"
                                      "[sso-session corp]\nsso_region = us-east-1\n"
                                      "[dev]\nignored = yes\n"
                                      "[profile  spaced ]\nk = v\n",
                                      true);
    CHECK(config.size() == 3);
    CHECK(config["default"]["region"] == "us-east-1");
    CHECK(config["dev"]["aws_access_key_id"] == "AKIADEV");
    CHECK(config["dev"]["region"] == "eu-west-1");
    CHECK(config["dev"].count("max_concurrent_requests") == 0);
    CHECK(config["dev"].count("ignored") == 0);
    CHECK(config["spaced"]["k"] == "v");
    CHECK(config.count("corp") == 0);
}

TEST_CASE("ecr: credentials from the environment") {
    auto id = ecr::find_identity(ecr_env({{"AWS_ACCESS_KEY_ID", "AKIAENV"},
                                          {"AWS_SECRET_ACCESS_KEY", "envsecret"},
                                          {"AWS_SESSION_TOKEN", "envsession"},
                                          {"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"},
                                          {"AWS_WEB_IDENTITY_TOKEN_FILE", "/nonexistent"}}));
    REQUIRE(id);
    CHECK(id->kind == ecr::AwsIdentity::Kind::keys);
    CHECK(id->keys.access_key_id == "AKIAENV");
    CHECK(id->keys.secret_access_key == "envsecret");
    CHECK(id->keys.session_token == "envsession");
    CHECK(id->source == "ECR (environment keys)");
    CHECK(id->cache_identity == "AKIAENV");

    CHECK(ecr_error_of([] {
              ecr::find_identity(ecr_env({{"AWS_ACCESS_KEY_ID", "AKIAENV"}}));
          }) == floe::Errc::invalid_argument);
    // Nothing at all: not configured, no error.
    EcrTempDir home;
    CHECK_FALSE(ecr::find_identity(ecr_env({{"HOME", home.path.string()}})));
    CHECK_FALSE(ecr::find_identity(ecr_env({})));
}

TEST_CASE("ecr: web identity from the environment") {
    auto id = ecr::find_identity(ecr_env({{"AWS_ROLE_ARN", "arn:aws:iam::123456789012:role/ci"},
                                          {"AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token"},
                                          {"AWS_ROLE_SESSION_NAME", "build-7"}}));
    REQUIRE(id);
    CHECK(id->kind == ecr::AwsIdentity::Kind::web_identity);
    CHECK(id->role_arn == "arn:aws:iam::123456789012:role/ci");
    CHECK(id->token_file == "/var/run/token");
    CHECK(id->session_name == "build-7");
    CHECK(id->source == "ECR (web identity arn:aws:iam::123456789012:role/ci)");
    CHECK(id->cache_identity == "role:arn:aws:iam::123456789012:role/ci");
    // A role without a token file is not web identity.
    CHECK_FALSE(ecr::find_identity(ecr_env({{"AWS_ROLE_ARN", "arn:aws:iam::1:role/r"}})));
}

TEST_CASE("ecr: credentials from the shared files and AWS_PROFILE") {
    EcrTempDir dir;
    auto credentials = dir.write("credentials", "[default]\n"
                                                "aws_access_key_id = AKIADEFAULT\n"
                                                "aws_secret_access_key = defaultsecret\n"
                                                "[both]\n"
                                                "aws_access_key_id = AKIAFROMCREDENTIALS\n"
                                                "aws_secret_access_key = credsecret\n"
                                                "[half]\naws_access_key_id = AKIAHALF\n");
    auto config = dir.write("config", "[profile dev]\n"
                                      "aws_access_key_id = AKIADEV\n"
                                      "aws_secret_access_key = devsecret\n"
                                      "aws_session_token = devsession\n"
                                      "[profile both]\n"
                                      "aws_access_key_id = AKIAFROMCONFIG\n"
                                      "aws_secret_access_key = configsecret\n"
                                      "[profile regiononly]\nregion = us-east-1\n"
                                      "[profile proc]\ncredential_process = /bin/creds\n"
                                      "[profile sso]\nsso_session = corp\n"
                                      "[profile chained]\nrole_arn = arn:aws:iam::1:role/x\n"
                                      "source_profile = default\n"
                                      "[profile irsa]\nrole_arn = arn:aws:iam::1:role/irsa\n"
                                      "web_identity_token_file = /tok\n");
    auto env = [&](std::string profile) {
        return ecr_env({{"AWS_SHARED_CREDENTIALS_FILE", credentials},
                        {"AWS_CONFIG_FILE", config},
                        {"AWS_PROFILE", profile}});
    };

    auto id = ecr::find_identity(env(""));
    REQUIRE(id);
    CHECK(id->keys.access_key_id == "AKIADEFAULT");
    CHECK(id->source == "ECR (profile default)");

    id = ecr::find_identity(env("dev"));
    REQUIRE(id);
    CHECK(id->keys.access_key_id == "AKIADEV");
    CHECK(id->keys.secret_access_key == "devsecret");
    CHECK(id->keys.session_token == "devsession");
    CHECK(id->source == "ECR (profile dev)");

    id = ecr::find_identity(env("both")); // the credentials file wins
    REQUIRE(id);
    CHECK(id->keys.access_key_id == "AKIAFROMCREDENTIALS");
    CHECK(id->keys.secret_access_key == "credsecret");

    id = ecr::find_identity(env("irsa"));
    REQUIRE(id);
    CHECK(id->kind == ecr::AwsIdentity::Kind::web_identity);
    CHECK(id->role_arn == "arn:aws:iam::1:role/irsa");
    CHECK(id->token_file == "/tok");

    CHECK_FALSE(ecr::find_identity(env("regiononly")));
    CHECK(ecr_error_of([&] { ecr::find_identity(env("missing")); }) ==
          floe::Errc::invalid_argument);
    CHECK(ecr_error_of([&] { ecr::find_identity(env("half")); }) == floe::Errc::invalid_argument);
    CHECK(ecr_error_of([&] { ecr::find_identity(env("proc")); }) == floe::Errc::unsupported);
    CHECK(ecr_error_of([&] { ecr::find_identity(env("sso")); }) == floe::Errc::unsupported);
    CHECK(ecr_error_of([&] { ecr::find_identity(env("chained")); }) == floe::Errc::unsupported);

    // The default files under HOME.
    std::filesystem::create_directories(dir.path / "home" / ".aws");
    dir.write("home/.aws/credentials",
              "[default]\naws_access_key_id = AKIAHOME\naws_secret_access_key = s\n");
    id = ecr::find_identity(ecr_env({{"HOME", (dir.path / "home").string()}}));
    REQUIRE(id);
    CHECK(id->keys.access_key_id == "AKIAHOME");
}

TEST_CASE("ecr: STS AssumeRoleWithWebIdentity request and answer") {
    CHECK(ecr::assume_role_form("arn:aws:iam::123456789012:role/ci", "floe-1", "eyJ.a+b/c=") ==
          "Action=AssumeRoleWithWebIdentity"
          "&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fci"
          "&RoleSessionName=floe-1&Version=2011-06-15&WebIdentityToken=eyJ.a%2Bb%2Fc%3D");

    auto answer = ecr::parse_assume_role_answer(
        R"(<AssumeRoleWithWebIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleWithWebIdentityResult>
    <SubjectFromWebIdentityToken>system:serviceaccount:ns:sa</SubjectFromWebIdentityToken>
    <AssumedRoleUser>
      <Arn>arn:aws:sts::123456789012:assumed-role/ci/floe-1</Arn>
      <AssumedRoleId>AROA:floe-1</AssumedRoleId>
    </AssumedRoleUser>
    <Credentials>
      <SessionToken>FwoGZXIvYXdzE&amp;token/with+slash==</SessionToken>
      <SecretAccessKey>
        wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY
      </SecretAccessKey>
      <Expiration>2026-01-01T12:00:00Z</Expiration>
      <AccessKeyId>ASIAEXAMPLE</AccessKeyId>
    </Credentials>
    <Audience>sts.amazonaws.com</Audience>
  </AssumeRoleWithWebIdentityResult>
  <ResponseMetadata><RequestId>ad4156e9</RequestId></ResponseMetadata>
</AssumeRoleWithWebIdentityResponse>)");
    CHECK(answer.credentials.access_key_id == "ASIAEXAMPLE");
    CHECK(answer.credentials.secret_access_key == "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY");
    CHECK(answer.credentials.session_token == "FwoGZXIvYXdzE&token/with+slash==");
    CHECK(answer.expiration == "2026-01-01T12:00:00Z");

    // A look-alike element is not the one asked for; CDATA is taken as it is.
    CHECK(ecr::xml_element("<CodeX>no</CodeX><Code attr=\"1\">yes</Code>", "Code") == "yes");
    CHECK(ecr::xml_element("<A><![CDATA[x&amp;<y>]]></A>", "A") == "x&amp;<y>");
    CHECK(ecr::xml_element("<A>&#65;&#x42;&lt;&unknown;</A>", "A") == "AB<&unknown;");
    CHECK(ecr::xml_element("<A/>", "A") == "");
    CHECK_FALSE(ecr::xml_element("<A>unclosed", "A"));

    CHECK(ecr_error_of([] { ecr::parse_assume_role_answer("<Response/>"); }) ==
          floe::Errc::protocol);
    CHECK(ecr_error_of([] {
              ecr::parse_assume_role_answer(
                  "<X><Credentials><AccessKeyId>A</AccessKeyId></Credentials></X>");
          }) == floe::Errc::protocol);
    CHECK(ecr::aws_error_code(
              "<ErrorResponse><Error><Type>Sender</Type><Code>InvalidIdentityToken</Code>"
              "<Message>secret stuff</Message></Error></ErrorResponse>") == "InvalidIdentityToken");
    CHECK(ecr::aws_error_code("<E><Code>\x1b[31mEvil</Code></E>") == "31mEvil");
}

TEST_CASE("ecr: GetAuthorizationToken answer") {
    auto encoded = floe::base64_encode("AWS:eyJwYXlsb2FkIjoi:with:colons");
    auto token = ecr::parse_authorization_answer(
        R"({"authorizationData":[{"authorizationToken":")" + encoded +
        R"(","expiresAt":1.7e9,"proxyEndpoint":"https://123456789012.dkr.ecr.us-east-1.amazonaws.com"}]})");
    CHECK(token.username == "AWS");
    CHECK(token.password == "eyJwYXlsb2FkIjoi:with:colons");
    CHECK(token.expires_at == 1700000000);

    token = ecr::parse_authorization_answer(R"({"authorizationData":[{"authorizationToken":")" +
                                            encoded + R"(","expiresAt":1700000123}]})");
    CHECK(token.expires_at == 1700000123);
    token = ecr::parse_authorization_answer(R"({"authorizationData":[{"authorizationToken":")" +
                                            encoded + R"(","expiresAt":1700000123.75}]})");
    CHECK(token.expires_at == 1700000123);

    for (std::string bad :
         {std::string("not json"), std::string(R"({"authorizationData":[]})"),
          std::string(R"({"authorizationData":[{"expiresAt":1}]})"),
          std::string(R"({"authorizationData":[{"authorizationToken":"!!!","expiresAt":1}]})"),
          R"({"authorizationData":[{"authorizationToken":")" + floe::base64_encode("nocolon") +
              R"(","expiresAt":1}]})",
          R"({"authorizationData":[{"authorizationToken":")" + encoded + R"("}]})",
          R"({"authorizationData":[{"authorizationToken":")" + encoded +
              R"(","expiresAt":"soon"}]})"})
        CHECK_MESSAGE(ecr_error_of([&] { ecr::parse_authorization_answer(bad); }) ==
                          floe::Errc::protocol,
                      bad);

    CHECK(
        ecr::aws_error_code(
            R"({"__type":"com.amazon.coral.service#UnrecognizedClientException","message":"x"})") ==
        "UnrecognizedClientException");
    CHECK(ecr::aws_error_code(R"({"__type":"InvalidSignatureException"})") ==
          "InvalidSignatureException");
    CHECK(ecr::aws_error_code("") == "");
}

TEST_CASE("ecr: endpoints and their overrides") {
    EcrHost us{"123456789012", "us-east-1", false, false};
    EcrHost cn{"123456789012", "cn-north-1", false, true};
    EcrHost gov{"123456789012", "us-gov-west-1", true, false};
    auto none = ecr_env({});
    CHECK(ecr::ecr_endpoint(us, none) == "https://api.ecr.us-east-1.amazonaws.com/");
    CHECK(ecr::ecr_endpoint(cn, none) == "https://api.ecr.cn-north-1.amazonaws.com.cn/");
    CHECK(ecr::ecr_endpoint(gov, none) == "https://ecr-fips.us-gov-west-1.amazonaws.com/");
    CHECK(ecr::sts_endpoint(us, none) == "https://sts.us-east-1.amazonaws.com/");
    CHECK(ecr::sts_endpoint(cn, none) == "https://sts.cn-north-1.amazonaws.com.cn/");

    auto generic = ecr_env({{"AWS_ENDPOINT_URL", "http://127.0.0.1:4566"}});
    CHECK(ecr::ecr_endpoint(us, generic) == "http://127.0.0.1:4566");
    CHECK(ecr::sts_endpoint(us, generic) == "http://127.0.0.1:4566");
    auto specific = ecr_env({{"AWS_ENDPOINT_URL", "http://127.0.0.1:4566"},
                             {"AWS_ENDPOINT_URL_ECR", "http://127.0.0.1:1"},
                             {"AWS_ENDPOINT_URL_STS", "http://127.0.0.1:2"}});
    CHECK(ecr::ecr_endpoint(us, specific) == "http://127.0.0.1:1");
    CHECK(ecr::sts_endpoint(us, specific) == "http://127.0.0.1:2");
}

TEST_CASE("ecr: the token cache") {
    CHECK(ecr::cache_dir(ecr_env({{"XDG_CACHE_HOME", "/x"}, {"HOME", "/h"}})) == "/x/floe/ecr");
    CHECK(ecr::cache_dir(ecr_env({{"HOME", "/h"}})) == "/h/.cache/floe/ecr");
    CHECK(ecr::cache_dir(ecr_env({{"XDG_CACHE_HOME", "rel"}, {"HOME", "/h"}})) ==
          "/h/.cache/floe/ecr");
    CHECK(ecr::cache_dir(ecr_env({})).empty());

    EcrHost us{"123456789012", "us-east-1", false, false};
    auto a = ecr::cache_file_name(us, "AKIAONE");
    CHECK(a == ecr::cache_file_name(us, "AKIAONE"));
    CHECK(a != ecr::cache_file_name(us, "AKIATWO"));
    CHECK(a != ecr::cache_file_name(EcrHost{"123456789012", "eu-west-1"}, "AKIAONE"));
    CHECK(a.starts_with("123456789012-us-east-1-"));
    CHECK(a.ends_with(".json"));
    CHECK(a.find("AKIAONE") == std::string::npos);

    ecr::EcrToken token{"AWS", "pass\"word\\", 1700000000};
    auto back = ecr::parse_cache_entry(ecr::cache_entry(token));
    REQUIRE(back);
    CHECK(back->username == "AWS");
    CHECK(back->password == "pass\"word\\");
    CHECK(back->expires_at == 1700000000);
    for (auto corrupt : {"", "{", "[]", R"({"username":"AWS","password":"p"})",
                         R"({"username":"AWS","password":"","expires_at":5})",
                         R"({"username":"AWS","password":"p","expires_at":"5"})"})
        CHECK_MESSAGE(!ecr::parse_cache_entry(corrupt), corrupt);

    // Reused until 30 minutes before it expires.
    CHECK(ecr::still_fresh(token, 1700000000 - 1801));
    CHECK_FALSE(ecr::still_fresh(token, 1700000000 - 1800));
    CHECK_FALSE(ecr::still_fresh(token, 1700000000 + 5));
}
// --- end ECR ---

// --- GCR/ACR ---
#include "floe/auth/cloud/acr.hpp"
#include "floe/auth/cloud/gcr.hpp"
#include "floe/auth/cloud/token_request.hpp"
#include "floe/core/base64.hpp"
#include "floe/core/error.hpp"
#include "floe/core/json_writer.hpp"
#include "run_task.hpp"

#include <doctest/doctest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <simdjson.h>

#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

// Google (GCR / Artifact Registry) and Azure (ACR): which hosts are theirs, the service-account
// JWT (parsed back and its signature checked with the public half of a key made here), key-file
// errors, and the token services' answers. The requests themselves are checked against local
// fakes in test/integration/test_cloud_identity.py.
namespace gcr_acr_test {

using namespace floe;
using namespace floe::auth;

struct PkeyFree {
    void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
    void operator()(BIO* b) const { BIO_free(b); }
    void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
using Pkey = std::unique_ptr<EVP_PKEY, PkeyFree>;
using Bio = std::unique_ptr<BIO, PkeyFree>;

std::string bio_text(BIO* bio) {
    char* data = nullptr;
    long n = BIO_get_mem_data(bio, &data);
    return std::string(data, static_cast<std::size_t>(n));
}

// A fresh private key as PKCS#8 PEM (what Google's key files hold); `passphrase` encrypts it.
std::string private_pem(EVP_PKEY* key, const char* passphrase = nullptr) {
    Bio bio(BIO_new(BIO_s_mem()));
    auto cipher = passphrase ? EVP_aes_256_cbc() : nullptr;
    REQUIRE(PEM_write_bio_PKCS8PrivateKey(
                bio.get(), key, cipher, const_cast<char*>(passphrase),
                passphrase ? static_cast<int>(std::strlen(passphrase)) : 0, nullptr, nullptr) == 1);
    return bio_text(bio.get());
}

const std::string& test_rsa_pem() {
    static const std::string pem = [] {
        Pkey key(EVP_RSA_gen(2048));
        REQUIRE(key);
        return private_pem(key.get());
    }();
    return pem;
}

// The public key derived from a private PEM, as the token endpoint would hold it.
Pkey public_key_of(const std::string& private_key) {
    Bio in(BIO_new_mem_buf(private_key.data(), static_cast<int>(private_key.size())));
    Pkey priv(PEM_read_bio_PrivateKey(in.get(), nullptr, nullptr, nullptr));
    REQUIRE(priv);
    Bio out(BIO_new(BIO_s_mem()));
    REQUIRE(PEM_write_bio_PUBKEY(out.get(), priv.get()) == 1);
    Pkey pub(PEM_read_bio_PUBKEY(out.get(), nullptr, nullptr, nullptr));
    REQUIRE(pub);
    return pub;
}

bool rs256_verifies(EVP_PKEY* pub, std::string_view data, std::string_view signature) {
    std::unique_ptr<EVP_MD_CTX, PkeyFree> ctx(EVP_MD_CTX_new());
    if (EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, pub) != 1)
        return false;
    return EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(signature.data()),
                            signature.size(), reinterpret_cast<const unsigned char*>(data.data()),
                            data.size()) == 1;
}

std::string key_json(const std::string& type, const std::string& email, const std::string& pem,
                     const std::string& token_uri) {
    json::Writer w;
    w.begin_object().key("type").value(type).key("project_id").value("floe-test");
    w.key("private_key_id").value("0123abcd");
    if (!pem.empty())
        w.key("private_key").value(pem);
    if (!email.empty())
        w.key("client_email").value(email);
    if (!token_uri.empty())
        w.key("token_uri").value(token_uri);
    return w.end_object().take();
}

std::vector<std::string> split(std::string_view s, char sep) {
    std::vector<std::string> parts;
    std::size_t start = 0;
    while (true) {
        auto at = s.find(sep, start);
        parts.emplace_back(s.substr(start, at == s.npos ? s.npos : at - start));
        if (at == s.npos)
            return parts;
        start = at + 1;
    }
}

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "(no error)";
}

Errc errc_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.errc();
    }
    return Errc::ok;
}

// Sets (or unsets, with nullptr) environment variables for one test, and restores them.
class ScopedEnv {
  public:
    ScopedEnv(std::initializer_list<std::pair<const char*, const char*>> vars) {
        for (auto [name, value] : vars) {
            const char* old = std::getenv(name);
            saved_.emplace_back(name, old ? std::optional<std::string>(old) : std::nullopt);
            value ? ::setenv(name, value, 1) : ::unsetenv(name);
        }
    }
    ~ScopedEnv() {
        for (auto& [name, value] : saved_)
            value ? ::setenv(name.c_str(), value->c_str(), 1) : ::unsetenv(name.c_str());
    }

  private:
    std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

TEST_CASE("gcr: which hosts are Google's registries") {
    for (auto host :
         {"gcr.io", "GCR.io", "eu.gcr.io", "us.gcr.io", "gcr.io:443", "Asia.GCR.IO:443",
          "europe-docker.pkg.dev", "us-central1-docker.pkg.dev", "europe-docker.pkg.dev:443"})
        CHECK_MESSAGE(is_gcr_host(host), host);
    for (auto host : {"", "gcr.io:5000", "evilgcr.io", "gcr.io.evil.example", "a.b.gcr.io",
                      ".gcr.io", "docker.pkg.dev", "-docker.pkg.dev", "a.europe-docker.pkg.dev",
                      "europe-docker.pkg.dev.evil.example", "europe-maven.pkg.dev", "pkg.dev",
                      "myreg.azurecr.io", "docker.io"})
        CHECK_MESSAGE(!is_gcr_host(host), host);
}

TEST_CASE("gcr: a service-account key file") {
    auto key = gcp::parse_service_account_key(
        key_json("service_account", "builder@proj.iam.gserviceaccount.com", test_rsa_pem(),
                 "https://oauth2.googleapis.com/token"));
    CHECK(key.client_email == "builder@proj.iam.gserviceaccount.com");
    CHECK(key.private_key == test_rsa_pem());
    CHECK(key.private_key_id == "0123abcd");
    CHECK(key.token_uri == "https://oauth2.googleapis.com/token");
    // No token_uri: Google's; plain http only to loopback (the tests' fake).
    CHECK(gcp::parse_service_account_key(key_json("service_account", "a@b", test_rsa_pem(), ""))
              .token_uri == gcp::default_token_uri);
    CHECK(gcp::parse_service_account_key(
              key_json("service_account", "a@b", test_rsa_pem(), "http://127.0.0.1:8080/token"))
              .token_uri == "http://127.0.0.1:8080/token");
}

TEST_CASE("gcr: key-file errors say what is wrong and never show the key") {
    auto parse = [](std::string json) { return [json] { gcp::parse_service_account_key(json); }; };
    auto pem = test_rsa_pem();
    struct Case {
        std::string json;
        std::string says;
    };
    for (auto& c : std::vector<Case>{
             {"not json", "not a JSON object"},
             {"[1,2]", "not a JSON object"},
             {key_json("authorized_user", "a@b", pem, ""), "\"authorized_user\""},
             {key_json("", "a@b", pem, ""), "type is"},
             {key_json("service_account", "", pem, ""), "no client_email"},
             {key_json("service_account", "a@b", "", ""), "no private_key"},
             {key_json("service_account", "a@b", pem, "http://oauth2.example/token"),
              "must be https"},
             {key_json("service_account", "a@b", pem, "ftp://x/token"), "token_uri"},
         }) {
        auto message = error_of(parse(c.json));
        CHECK_MESSAGE(message.find(c.says) != std::string::npos, message);
        CHECK(message.find("PRIVATE KEY") == std::string::npos);
        CHECK(errc_of(parse(c.json)) == Errc::invalid_argument);
    }
}

TEST_CASE("gcr: the service-account JWT parses back and verifies with the public key") {
    auto key = gcp::parse_service_account_key(
        key_json("service_account", "builder@proj.iam.gserviceaccount.com", test_rsa_pem(),
                 "https://oauth2.googleapis.com/token"));
    auto jwt = gcp::build_assertion(key, 1700000000);
    auto parts = split(jwt, '.');
    REQUIRE(parts.size() == 3);

    auto header = base64url_decode(parts[0]);
    REQUIRE(header);
    CHECK(*header == R"({"alg":"RS256","typ":"JWT","kid":"0123abcd"})");
    auto claims = base64url_decode(parts[1]);
    REQUIRE(claims);
    simdjson::dom::parser parser;
    simdjson::dom::object obj;
    REQUIRE(parser.parse(*claims).get(obj) == simdjson::SUCCESS);
    CHECK(std::string_view(obj["iss"]) == "builder@proj.iam.gserviceaccount.com");
    CHECK(std::string_view(obj["scope"]) == "https://www.googleapis.com/auth/cloud-platform");
    CHECK(std::string_view(obj["aud"]) == "https://oauth2.googleapis.com/token");
    CHECK(std::int64_t(obj["iat"]) == 1700000000);
    CHECK(std::int64_t(obj["exp"]) == 1700003600);
    CHECK(obj.size() == 5);

    auto signature = base64url_decode(parts[2]);
    REQUIRE(signature);
    CHECK(signature->size() == 256); // RSA-2048
    auto pub = public_key_of(key.private_key);
    auto signed_part = parts[0] + "." + parts[1];
    CHECK(rs256_verifies(pub.get(), signed_part, *signature));
    // The check can fail: another claim set, or another key, does not verify.
    CHECK_FALSE(rs256_verifies(pub.get(), parts[0] + "." + parts[0], *signature));
    Pkey other(EVP_RSA_gen(2048));
    auto other_pub = public_key_of(private_pem(other.get()));
    CHECK_FALSE(rs256_verifies(other_pub.get(), signed_part, *signature));

    // Without a private_key_id, no kid.
    key.private_key_id.clear();
    auto bare = split(gcp::build_assertion(key, 1700000000), '.');
    CHECK(*base64url_decode(bare[0]) == R"({"alg":"RS256","typ":"JWT"})");
}

TEST_CASE("gcr: a private key that cannot sign RS256 is refused without a prompt") {
    auto sign = [](std::string pem) { return [pem] { gcp::rs256_sign(pem, "data"); }; };
    CHECK(errc_of(sign("")) == Errc::invalid_argument);
    CHECK(errc_of(sign("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")) ==
          Errc::invalid_argument);
    Pkey ec(EVP_EC_gen("P-256"));
    REQUIRE(ec);
    CHECK(errc_of(sign(private_pem(ec.get()))) == Errc::invalid_argument);
    // Encrypted: an error, never a passphrase prompt on the terminal.
    Pkey rsa(EVP_RSA_gen(2048));
    auto message = error_of(sign(private_pem(rsa.get(), "secret-passphrase")));
    CHECK(message.find("unencrypted RSA private key") != std::string::npos);
}

TEST_CASE("gcr: the JWT-bearer grant's form") {
    CHECK(gcp::assertion_form("aaa.bbb.c-_") ==
          "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=aaa.bbb.c-_");
}

TEST_CASE("gcr: token endpoint and metadata server answers") {
    auto t = gcp::parse_access_token(
        R"({"access_token":"ya29.c.abc","expires_in":3599,"token_type":"Bearer"})");
    CHECK(t.token == "ya29.c.abc");
    CHECK(t.expires_in == 3599);
    CHECK(gcp::parse_access_token(R"({"access_token":"ya29.x"})").expires_in == 0);
    auto bad = [](std::string json) { return [json] { gcp::parse_access_token(json); }; };
    CHECK(errc_of(bad(R"({"token_type":"Bearer"})")) == Errc::protocol);
    CHECK(errc_of(bad(R"({"access_token":""})")) == Errc::protocol);
    CHECK(errc_of(bad("<html>oops</html>")) == Errc::protocol);
    CHECK(error_of(bad("<html>oops</html>")).find("oops") == std::string::npos);
}

TEST_CASE("gcr/acr: the OAuth2 error code of a refusal, and how long a token is reused") {
    CHECK(cloud::oauth_error(R"({"error":"invalid_grant","error_description":"Invalid JWT"})") ==
          "invalid_grant");
    CHECK(cloud::oauth_error(R"({"error":"\u001b[2J"})").empty());
    CHECK(cloud::oauth_error(R"({"error":{"code":400}})").empty());
    CHECK(cloud::oauth_error("<html>").empty());
    CHECK(cloud::reuse_for(3600) == 3300);
    CHECK(cloud::reuse_for(3599) == 3299);
    CHECK(cloud::reuse_for(120) == 60);
    CHECK(cloud::reuse_for(0) == 0);
}

TEST_CASE("acr: which hosts are Azure container registries") {
    for (auto host : {"myreg.azurecr.io", "MyReg.AzureCR.io", "myreg.azurecr.io:443",
                      "myreg.azurecr.cn", "myreg.azurecr.us"})
        CHECK_MESSAGE(is_acr_host(host), host);
    for (auto host :
         {"", "azurecr.io", ".azurecr.io", "myreg.azurecr.io:5000", "a.b.azurecr.io",
          "myreg.azurecr.io.evil.example", "myregazurecr.io", "myreg.azurecr.de", "gcr.io"})
        CHECK_MESSAGE(!is_acr_host(host), host);
}

TEST_CASE("acr: Entra ID token endpoint and workload identity form") {
    CHECK(
        azure::token_endpoint("", "72f988bf-86f1-41af-91ab-2d7cd011db47") ==
        "https://login.microsoftonline.com/72f988bf-86f1-41af-91ab-2d7cd011db47/oauth2/v2.0/token");
    CHECK(azure::token_endpoint("https://login.microsoftonline.us", "contoso.onmicrosoft.com") ==
          "https://login.microsoftonline.us/contoso.onmicrosoft.com/oauth2/v2.0/token");
    CHECK(azure::token_endpoint("http://127.0.0.1:9000/", "t1") ==
          "http://127.0.0.1:9000/t1/oauth2/v2.0/token");
    auto endpoint = [](std::string authority, std::string tenant) {
        return [=] { azure::token_endpoint(authority, tenant); };
    };
    CHECK(errc_of(endpoint("http://login.example/", "t1")) == Errc::invalid_argument);
    CHECK(errc_of(endpoint("", "../evil")) == Errc::invalid_argument);
    CHECK(errc_of(endpoint("", "a/b")) == Errc::invalid_argument);
    CHECK(errc_of(endpoint("", "")) == Errc::invalid_argument);
    CHECK(azure::workload_identity_form("11111111-2222", "eyJ.fed.tok") ==
          "client_id=11111111-2222&grant_type=client_credentials"
          "&client_assertion_type=urn%3Aietf%3Aparams%3Aoauth%3Aclient-assertion-type%3Ajwt-bearer"
          "&client_assertion=eyJ.fed.tok"
          "&scope=https%3A%2F%2Fmanagement.azure.com%2F.default");
}

TEST_CASE("acr: managed-identity and IMDS URLs") {
    CHECK(azure::managed_identity_url("http://127.0.0.1:41741/msi/token", "") ==
          "http://127.0.0.1:41741/msi/token?api-version=2019-08-01"
          "&resource=https%3A%2F%2Fmanagement.azure.com%2F");
    CHECK(azure::managed_identity_url("http://127.0.0.1:41741/msi/token", "cid-1") ==
          "http://127.0.0.1:41741/msi/token?api-version=2019-08-01"
          "&resource=https%3A%2F%2Fmanagement.azure.com%2F&client_id=cid-1");
    CHECK(azure::imds_url(azure::imds_host, "") ==
          "http://169.254.169.254/metadata/identity/oauth2/token?api-version=2018-02-01"
          "&resource=https%3A%2F%2Fmanagement.azure.com%2F");
    CHECK(azure::imds_url("http://127.0.0.1:8080/", "cid") ==
          "http://127.0.0.1:8080/metadata/identity/oauth2/token?api-version=2018-02-01"
          "&resource=https%3A%2F%2Fmanagement.azure.com%2F&client_id=cid");
}

TEST_CASE("acr: Entra ID and managed-identity answers") {
    auto now = std::int64_t{1700000000};
    auto v2 = azure::parse_entra_token(
        R"({"token_type":"Bearer","expires_in":3599,"ext_expires_in":3599,"access_token":"eyA"})",
        now);
    CHECK(v2.token == "eyA");
    CHECK(v2.expires_in == 3599);
    // IMDS: strings.
    CHECK(azure::parse_entra_token(
              R"({"access_token":"eyB","expires_in":"86399","expires_on":"1700086399"})", now)
              .expires_in == 86399);
    // App Service: expires_on only, as a string or a number.
    CHECK(azure::parse_entra_token(R"({"access_token":"eyC","expires_on":"1700000600"})", now)
              .expires_in == 600);
    CHECK(azure::parse_entra_token(R"({"access_token":"eyC","expires_on":1700000600})", now)
              .expires_in == 600);
    CHECK(
        azure::parse_entra_token(R"({"access_token":"eyD","expires_on":"soon"})", now).expires_in ==
        0);
    auto bad = [now](std::string json) { return [=] { azure::parse_entra_token(json, now); }; };
    CHECK(errc_of(bad(R"({"error":"invalid_client"})")) == Errc::protocol);
    CHECK(errc_of(bad("nope")) == Errc::protocol);
}

TEST_CASE("acr: the tenant an access token names") {
    auto jwt = [](std::string claims) {
        return base64url_encode(R"({"alg":"RS256","typ":"JWT"})") + "." + base64url_encode(claims) +
               ".c2ln";
    };
    CHECK(azure::tenant_of(jwt(R"({"aud":"https://management.azure.com/","tid":"tenant-42"})")) ==
          "tenant-42");
    CHECK(azure::tenant_of(jwt(R"({"aud":"x"})")).empty());
    CHECK(azure::tenant_of(jwt(R"({"tid":"a/../b"})")).empty());
    CHECK(azure::tenant_of("opaque-token").empty());
    CHECK(azure::tenant_of("a.!!!.c").empty());
}

TEST_CASE("acr: the registry's token exchange") {
    CHECK(azure::exchange_url("myreg.azurecr.io", "") ==
          "https://myreg.azurecr.io/oauth2/exchange");
    CHECK(azure::exchange_url("myreg.azurecr.io", "http://127.0.0.1:5/oauth2/exchange") ==
          "http://127.0.0.1:5/oauth2/exchange");
    CHECK(azure::exchange_form("myreg.azurecr.io", "t-1", "eyA.b+c") ==
          "grant_type=access_token&service=myreg.azurecr.io&tenant=t-1&access_token=eyA.b%2Bc");
    CHECK(azure::exchange_form("myreg.azurecr.io", "", "tok") ==
          "grant_type=access_token&service=myreg.azurecr.io&access_token=tok");
    CHECK(azure::parse_exchange_answer(R"({"refresh_token":"eyR"})") == "eyR");
    CHECK(errc_of([] { azure::parse_exchange_answer(R"({"access_token":"x"})"); }) ==
          Errc::protocol);
    CHECK(errc_of([] { azure::parse_exchange_answer("{"); }) == Errc::protocol);
}

TEST_CASE("gcr/acr: other hosts, and nothing configured, are not theirs (no I/O)") {
    ScopedEnv env{{"GOOGLE_OAUTH_ACCESS_TOKEN", "ya29.from-env"},
                  {"GOOGLE_APPLICATION_CREDENTIALS", nullptr},
                  {"GCE_METADATA_HOST", nullptr},
                  {"AZURE_ACCESS_TOKEN", nullptr},
                  {"AZURE_FEDERATED_TOKEN_FILE", nullptr},
                  {"IDENTITY_ENDPOINT", nullptr},
                  {"IDENTITY_HEADER", nullptr},
                  {"AZURE_POD_IDENTITY_AUTHORITY_HOST", nullptr},
                  {"FLOE_AZURE_IMDS", nullptr}};
    GcrKeychain gcr{SourceContext{}};
    AcrKeychain acr{SourceContext{}};
    CHECK_FALSE(test::run_task(gcr.resolve("registry.example.com", "a/b")));
    CHECK_FALSE(test::run_task(gcr.resolve("myreg.azurecr.io", "a/b")));
    auto creds = test::run_task(gcr.resolve("europe-docker.pkg.dev", "proj/repo/img"));
    REQUIRE(creds);
    CHECK(creds->username == "oauth2accesstoken");
    CHECK(creds->password == "ya29.from-env");
    CHECK(creds->source == "GCR (GOOGLE_OAUTH_ACCESS_TOKEN)");
    CHECK_FALSE(test::run_task(acr.resolve("myreg.azurecr.io", "a/b")));
}

} // namespace gcr_acr_test
// --- end GCR/ACR ---
