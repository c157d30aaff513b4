#include "src/rpc/tls_certificates.h"

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <ctime>
#include <memory>
#include <utility>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "src/common/file_util.h"
#include "src/common/openssl_lifetime.h"
#include "src/common/random.h"
#include "src/common/status.h"

namespace orrery::rpc {
namespace {

template <auto Free>
struct Deleter {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using Bio = std::unique_ptr<BIO, Deleter<BIO_free_all>>;
using PKey = std::unique_ptr<EVP_PKEY, Deleter<EVP_PKEY_free>>;
using Cert = std::unique_ptr<X509, Deleter<X509_free>>;
using Req = std::unique_ptr<X509_REQ, Deleter<X509_REQ_free>>;
using BigNum = std::unique_ptr<BIGNUM, Deleter<BN_free>>;
using Store = std::unique_ptr<X509_STORE, Deleter<X509_STORE_free>>;
using StoreCtx = std::unique_ptr<X509_STORE_CTX, Deleter<X509_STORE_CTX_free>>;
using Extension = std::unique_ptr<X509_EXTENSION, Deleter<X509_EXTENSION_free>>;

constexpr char kCaCommonName[] = "Orrery cluster CA";
constexpr int64_t kCaValiditySeconds = int64_t{3653} * 24 * 3600;  // 10 years
// Issued certificates start a little in the past, so a peer whose clock lags accepts them.
constexpr int64_t kClockSkewSeconds = 5 * 60;
// A PEM certificate, key or CSR is a few KiB; anything much larger from a peer is refused unread.
constexpr size_t kMaxPemBytes = 64 * 1024;
constexpr size_t kMaxNodeNameLength = 64;  // the X.509 upper bound of a common name
constexpr char kFingerprintPrefix[] = "sha256:";
constexpr char kFingerprintForm[] = "sha256:<64 hex digits> (as printed by `orrery start --head`)";

// Drains OpenSSL's per-thread error queue into the status. Left in the queue, a stale error would
// be reported by the next TLS operation on this thread, gRPC's handshakes among them.
absl::Status OpenSslError(absl::StatusCode code, absl::string_view what) {
  std::string detail;
  while (unsigned long err = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(err, buf, sizeof(buf));
    absl::StrAppend(&detail, detail.empty() ? "" : "; ", buf);
  }
  return absl::Status(code, detail.empty() ? std::string(what) : absl::StrCat(what, " (", detail, ")"));
}

absl::Status InternalError(absl::string_view what) { return OpenSslError(absl::StatusCode::kInternal, what); }

// Refuses a passphrase: OpenSSL's default callback would prompt on the terminal for an encrypted key.
int NoPassphrase(char*, int, int, void*) { return 0; }

// Reads one PEM object with `read` (a PEM_read_bio_* function).
template <typename Ptr, typename T>
absl::StatusOr<Ptr> ParsePem(absl::string_view pem, absl::string_view what, absl::string_view kind,
                             T* (*read)(BIO*, T**, pem_password_cb*, void*)) {
  if (pem.size() > kMaxPemBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, " is ", pem.size(), " bytes long; a PEM ", kind, " is at most ", kMaxPemBytes));
  }
  Bio bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  if (bio == nullptr) return InternalError("cannot allocate a memory BIO");
  Ptr value(read(bio.get(), nullptr, NoPassphrase, nullptr));
  if (value == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, absl::StrCat(what, " is not a PEM ", kind));
  }
  return value;
}

absl::StatusOr<Cert> ParseCert(absl::string_view pem, absl::string_view what) {
  return ParsePem<Cert>(pem, what, "certificate", PEM_read_bio_X509);
}
absl::StatusOr<PKey> ParseKey(absl::string_view pem, absl::string_view what) {
  return ParsePem<PKey>(pem, what, "private key", PEM_read_bio_PrivateKey);
}
absl::StatusOr<Req> ParseCsr(absl::string_view pem) {
  return ParsePem<Req>(pem, "the certificate signing request", "CSR", PEM_read_bio_X509_REQ);
}

absl::StatusOr<std::string> WritePem(absl::string_view what, absl::FunctionRef<int(BIO*)> write) {
  Bio bio(BIO_new(BIO_s_mem()));
  if (bio == nullptr || write(bio.get()) != 1) return InternalError(absl::StrCat("cannot encode the ", what));
  char* data = nullptr;
  long size = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<size_t>(size));
}

absl::StatusOr<std::string> KeyPem(EVP_PKEY* key) {
  return WritePem("private key", [key](BIO* bio) {
    return PEM_write_bio_PrivateKey(bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  });
}

absl::StatusOr<PKey> NewKey() {
  PKey key(EVP_EC_gen("P-256"));
  if (key == nullptr) return InternalError("cannot generate an ECDSA P-256 key");
  return key;
}

// Only P-256 keys, the kind MakeKeyAndCsr makes, are signed: refusing anything else keeps a weak
// key (RSA-512, a small curve) from a modified or foreign client out of the cluster.
absl::Status CheckP256(EVP_PKEY* key) {
  char group[64] = {};
  size_t length = 0;
  if (EVP_PKEY_get_base_id(key) == EVP_PKEY_EC && EVP_PKEY_get_group_name(key, group, sizeof(group), &length) == 1) {
    int nid = OBJ_sn2nid(group);
    if (nid == NID_undef) nid = EC_curve_nist2nid(group);
    if (nid == NID_X9_62_prime256v1) return absl::OkStatus();
  }
  ERR_clear_error();
  return absl::InvalidArgumentError(
      absl::StrCat("the CSR's public key is ", EVP_PKEY_get0_type_name(key) ? EVP_PKEY_get0_type_name(key) : "unknown",
                   group[0] ? absl::StrCat(" on ", group) : "", "; only ECDSA P-256 keys are signed"));
}

// A node name goes into a DNS SAN, so it must be one; checking it also keeps it from injecting
// further entries into the extension text below.
absl::Status CheckNodeName(absl::string_view name) {
  bool valid = !name.empty() && name.size() <= kMaxNodeNameLength && name.front() != '.' && name.front() != '-';
  for (char c : name) valid = valid && (absl::ascii_isalnum(c) || c == '-' || c == '.');
  if (valid) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat("the node name \"", name.substr(0, 80),
                                                 "\" is not a DNS name of 1 to ", kMaxNodeNameLength,
                                                 " letters, digits, '-' and '.'"));
}

absl::Status AddCommonName(X509_NAME* name, absl::string_view common_name) {
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(common_name.data()),
                                 static_cast<int>(common_name.size()), -1, 0) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, absl::StrCat("cannot use \"", common_name, "\" as a name"));
  }
  return absl::OkStatus();
}

// 128 random bits: an unpredictable serial keeps a chosen-prefix collision from forging a signature.
absl::Status SetRandomSerial(X509* cert) {
  BigNum serial(BN_new());
  do {
    if (serial == nullptr || BN_rand(serial.get(), 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1) {
      return InternalError("cannot draw a random serial number");
    }
  } while (BN_is_zero(serial.get()));
  if (BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert)) == nullptr) {
    return InternalError("cannot set the serial number");
  }
  return absl::OkStatus();
}

struct CertificateSpec {
  std::string common_name;
  int64_t not_before = 0;
  int64_t not_after = 0;
  // (NID, OpenSSL extension text), added in this order.
  std::vector<std::pair<int, std::string>> extensions;
};

// Signs `subject_key` into a certificate described by `spec`; self-signed when `issuer` is null.
absl::StatusOr<std::string> SignCertificate(EVP_PKEY* subject_key, X509* issuer, EVP_PKEY* issuer_key,
                                            const CertificateSpec& spec) {
  Cert cert(X509_new());
  if (cert == nullptr || X509_set_version(cert.get(), X509_VERSION_3) != 1) return InternalError("X509_new failed");
  ORRERY_RETURN_IF_ERROR(SetRandomSerial(cert.get()));
  if (ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(spec.not_before)) == nullptr ||
      ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(spec.not_after)) == nullptr) {
    return InternalError("cannot set the validity period");
  }
  ORRERY_RETURN_IF_ERROR(AddCommonName(X509_get_subject_name(cert.get()), spec.common_name));
  X509* signer = issuer != nullptr ? issuer : cert.get();
  if (X509_set_issuer_name(cert.get(), X509_get_subject_name(signer)) != 1 ||
      X509_set_pubkey(cert.get(), subject_key) != 1) {
    return InternalError("cannot set the issuer or the public key");
  }
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, signer, cert.get(), nullptr, nullptr, 0);
  for (const auto& [nid, value] : spec.extensions) {
    Extension extension(X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str()));
    if (extension == nullptr || X509_add_ext(cert.get(), extension.get(), -1) != 1) {
      return InternalError(absl::StrCat("cannot add the extension ", OBJ_nid2sn(nid), " = ", value));
    }
  }
  if (X509_sign(cert.get(), issuer_key, EVP_sha256()) <= 0) return InternalError("cannot sign the certificate");
  return WritePem("certificate", [&cert](BIO* bio) { return PEM_write_bio_X509(bio, cert.get()); });
}

absl::StatusOr<int64_t> ToUnixSeconds(const ASN1_TIME* time) {
  struct tm tm = {};
  if (time == nullptr || ASN1_TIME_to_tm(time, &tm) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "the certificate has a malformed validity time");
  }
  return static_cast<int64_t>(timegm(&tm));
}

std::string FormatUnixSeconds(int64_t seconds) {
  time_t t = static_cast<time_t>(seconds);
  struct tm tm = {};
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S UTC", &tm);
  return buf;
}

int64_t NowSeconds() { return static_cast<int64_t>(std::time(nullptr)); }

}  // namespace

absl::StatusOr<CertificateAuthority> CreateClusterCa() {
  ORRERY_ASSIGN_OR_RETURN(PKey key, NewKey());
  CertificateSpec spec;
  spec.common_name = absl::StrCat(kCaCommonName, " ", HexEncode(RandomBytes(4)));
  spec.not_before = NowSeconds() - kClockSkewSeconds;
  spec.not_after = NowSeconds() + kCaValiditySeconds;
  spec.extensions = {{NID_basic_constraints, "critical,CA:TRUE,pathlen:0"},
                     {NID_key_usage, "critical,keyCertSign,cRLSign"},
                     {NID_subject_key_identifier, "hash"}};
  CertificateAuthority ca;
  ORRERY_ASSIGN_OR_RETURN(ca.cert_pem, SignCertificate(key.get(), nullptr, key.get(), spec));
  ORRERY_ASSIGN_OR_RETURN(ca.key_pem, KeyPem(key.get()));
  return ca;
}

std::vector<std::string> SplitCertificates(absl::string_view bundle_pem) {
  constexpr absl::string_view kBegin = "-----BEGIN CERTIFICATE-----";
  constexpr absl::string_view kEnd = "-----END CERTIFICATE-----";
  std::vector<std::string> certs;
  size_t at = 0;
  while ((at = bundle_pem.find(kBegin, at)) != absl::string_view::npos) {
    size_t end = bundle_pem.find(kEnd, at);
    if (end == absl::string_view::npos) break;
    end += kEnd.size();
    certs.push_back(absl::StrCat(bundle_pem.substr(at, end - at), "\n"));
    at = end;
  }
  return certs;
}

absl::StatusOr<TrustState> DescribeTrust(const TlsConfig& tls) {
  TrustState state;
  for (const std::string& ca : SplitCertificates(tls.ca_cert_pem)) {
    ORRERY_ASSIGN_OR_RETURN(std::string fingerprint, CaFingerprint(ca));
    if (state.issuer.empty() && VerifyCertificate(ca, tls.cert_pem).ok()) state.issuer = fingerprint;
    state.trusted_cas.push_back(std::move(fingerprint));
  }
  if (state.trusted_cas.empty()) return absl::InvalidArgumentError("the trust bundle holds no PEM certificate");
  return state;
}

absl::StatusOr<std::string> CaFingerprint(absl::string_view ca_cert_pem) {
  ORRERY_ASSIGN_OR_RETURN(Cert cert, ParseCert(ca_cert_pem, "the CA certificate"));
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (X509_digest(cert.get(), EVP_sha256(), digest, &length) != 1) return InternalError("cannot hash the certificate");
  return absl::StrCat(kFingerprintPrefix, HexEncode(absl::string_view(reinterpret_cast<char*>(digest), length)));
}

absl::StatusOr<std::string> ParseCaFingerprint(absl::string_view text) {
  auto error = [text](absl::string_view problem) {
    return absl::InvalidArgumentError(
        absl::StrCat("the CA hash \"", text.substr(0, 80), "\" ", problem, "; expected ", kFingerprintForm));
  };
  if (!absl::StartsWith(text, kFingerprintPrefix)) return error("does not start with sha256:");
  absl::string_view hex = text.substr(sizeof(kFingerprintPrefix) - 1);
  if (hex.size() != 64) return error(absl::StrCat("has ", hex.size(), " hex digits"));
  for (char c : hex) {
    if (!absl::ascii_isxdigit(c)) return error(absl::StrCat("contains '", std::string(1, c), "', not a hex digit"));
  }
  return absl::StrCat(kFingerprintPrefix, absl::AsciiStrToLower(hex));
}

absl::Status MatchCaFingerprint(absl::string_view ca_cert_pem, absl::string_view expected) {
  ORRERY_ASSIGN_OR_RETURN(std::string wanted, ParseCaFingerprint(expected));
  ORRERY_ASSIGN_OR_RETURN(std::string actual, CaFingerprint(ca_cert_pem));
  if (actual == wanted) return absl::OkStatus();
  return absl::UnauthenticatedError(absl::StrCat("the CA certificate served has the hash ", actual, ", not ", wanted,
                                                 ": the address is not this cluster's head, or the connection "
                                                 "is being intercepted"));
}

absl::StatusOr<KeyAndCsr> MakeKeyAndCsr(absl::string_view common_name) {
  ORRERY_ASSIGN_OR_RETURN(PKey key, NewKey());
  Req req(X509_REQ_new());
  if (req == nullptr || X509_REQ_set_version(req.get(), X509_REQ_VERSION_1) != 1) return InternalError("X509_REQ_new");
  ORRERY_RETURN_IF_ERROR(AddCommonName(X509_REQ_get_subject_name(req.get()), common_name));
  if (X509_REQ_set_pubkey(req.get(), key.get()) != 1 || X509_REQ_sign(req.get(), key.get(), EVP_sha256()) <= 0) {
    return InternalError("cannot sign the certificate signing request");
  }
  KeyAndCsr result;
  ORRERY_ASSIGN_OR_RETURN(result.key_pem, KeyPem(key.get()));
  ORRERY_ASSIGN_OR_RETURN(result.csr_pem, WritePem("certificate signing request", [&req](BIO* bio) {
                            return PEM_write_bio_X509_REQ(bio, req.get());
                          }));
  return result;
}

absl::StatusOr<std::string> IssueCertificate(const CertificateAuthority& ca, absl::string_view csr_pem,
                                             absl::string_view node_name, int64_t validity_seconds) {
  if (validity_seconds <= 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("a certificate's validity must be positive, not ", validity_seconds, " seconds"));
  }
  int64_t now = NowSeconds();
  return internal::IssueCertificateValidBetween(ca, csr_pem, node_name, now - kClockSkewSeconds,
                                                now + validity_seconds);
}

namespace internal {

absl::StatusOr<std::string> IssueCertificateValidBetween(const CertificateAuthority& ca, absl::string_view csr_pem,
                                                         absl::string_view node_name, int64_t not_before,
                                                         int64_t not_after) {
  ORRERY_RETURN_IF_ERROR(CheckNodeName(node_name));
  ORRERY_ASSIGN_OR_RETURN(Cert ca_cert, ParseCert(ca.cert_pem, "the CA certificate"));
  ORRERY_ASSIGN_OR_RETURN(PKey ca_key, ParseKey(ca.key_pem, "the CA key"));
  if (X509_check_private_key(ca_cert.get(), ca_key.get()) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "the CA key does not belong to the CA certificate");
  }
  ORRERY_ASSIGN_OR_RETURN(Req req, ParseCsr(csr_pem));
  // The CSR proves its sender holds the private key; without the check anyone could have a
  // certificate issued for someone else's public key.
  EVP_PKEY* key = X509_REQ_get0_pubkey(req.get());
  if (key == nullptr) {
    return OpenSslError(absl::StatusCode::kInvalidArgument, "the certificate signing request has no usable public key");
  }
  if (X509_REQ_verify(req.get(), key) != 1) {
    return OpenSslError(absl::StatusCode::kInvalidArgument,
                        "the certificate signing request's signature does not verify: it was altered, or not "
                        "signed with the key it carries");
  }
  ORRERY_RETURN_IF_ERROR(CheckP256(key));
  CertificateSpec spec;
  spec.common_name = std::string(node_name);
  spec.not_before = not_before;
  spec.not_after = not_after;
  spec.extensions = {{NID_basic_constraints, "critical,CA:FALSE"},
                     {NID_key_usage, "critical,digitalSignature,keyAgreement"},
                     {NID_ext_key_usage, "serverAuth,clientAuth"},
                     {NID_subject_alt_name, absl::StrCat("DNS:", kClusterServerName, ",DNS:", node_name)},
                     {NID_subject_key_identifier, "hash"},
                     {NID_authority_key_identifier, "keyid"}};
  return SignCertificate(key, ca_cert.get(), ca_key.get(), spec);
}

}  // namespace internal

absl::StatusOr<CertificateInfo> ReadCertificateInfo(absl::string_view cert_pem) {
  ORRERY_ASSIGN_OR_RETURN(Cert cert, ParseCert(cert_pem, "the certificate"));
  CertificateInfo info;
  X509_NAME* subject = X509_get_subject_name(cert.get());
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index >= 0) {
    unsigned char* utf8 = nullptr;
    int length = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
    if (length < 0) return OpenSslError(absl::StatusCode::kInvalidArgument, "the certificate's name is malformed");
    info.common_name.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(length));
    OPENSSL_free(utf8);
  }
  ORRERY_ASSIGN_OR_RETURN(info.not_before, ToUnixSeconds(X509_get0_notBefore(cert.get())));
  ORRERY_ASSIGN_OR_RETURN(info.not_after, ToUnixSeconds(X509_get0_notAfter(cert.get())));
  BigNum serial(ASN1_INTEGER_to_BN(X509_get0_serialNumber(cert.get()), nullptr));
  char* hex = serial != nullptr ? BN_bn2hex(serial.get()) : nullptr;
  if (hex == nullptr) return InternalError("cannot read the serial number");
  info.serial_hex = absl::AsciiStrToLower(hex);
  OPENSSL_free(hex);
  return info;
}

absl::Status VerifyCertificate(absl::string_view ca_cert_pem, absl::string_view cert_pem) {
  std::vector<Cert> cas;
  std::vector<std::string> bundle = SplitCertificates(ca_cert_pem);
  if (bundle.empty()) bundle.emplace_back(ca_cert_pem);  // for ParseCert's error
  for (const std::string& pem : bundle) {
    ORRERY_ASSIGN_OR_RETURN(Cert ca, ParseCert(pem, "the CA certificate"));
    cas.push_back(std::move(ca));
  }
  ORRERY_ASSIGN_OR_RETURN(Cert cert, ParseCert(cert_pem, "the certificate"));
  Store store(X509_STORE_new());
  StoreCtx ctx(X509_STORE_CTX_new());
  if (store == nullptr || ctx == nullptr) return InternalError("cannot set up certificate verification");
  for (const Cert& ca : cas) {
    if (X509_STORE_add_cert(store.get(), ca.get()) != 1) return InternalError("cannot set up certificate verification");
  }
  if (X509_STORE_CTX_init(ctx.get(), store.get(), cert.get(), nullptr) != 1) {
    return InternalError("cannot set up certificate verification");
  }
  if (X509_verify_cert(ctx.get()) == 1) return absl::OkStatus();
  int error = X509_STORE_CTX_get_error(ctx.get());
  ERR_clear_error();
  switch (error) {
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return absl::UnauthenticatedError(absl::StrCat(
          "the certificate expired at ", FormatUnixSeconds(ToUnixSeconds(X509_get0_notAfter(cert.get())).value_or(0))));
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return absl::UnauthenticatedError(
          absl::StrCat("the certificate is not valid before ",
                       FormatUnixSeconds(ToUnixSeconds(X509_get0_notBefore(cert.get())).value_or(0)),
                       " (is this host's clock right?)"));
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_CERT_SIGNATURE_FAILURE:
      return absl::UnauthenticatedError("the certificate was not issued by this cluster's CA");
    default:
      return absl::UnauthenticatedError(absl::StrCat("the certificate does not verify against the cluster CA: ",
                                                     X509_verify_cert_error_string(error)));
  }
}

int64_t RenewAt(const CertificateInfo& info) {
  // Two thirds of the life it was issued for: its start is backdated for clock skew, which is
  // no part of that life (a certificate of 30 s would otherwise be due at once).
  int64_t issued = std::min(info.not_before + kClockSkewSeconds, info.not_after);
  return issued + (info.not_after - issued) * 2 / 3;
}

}  // namespace orrery::rpc
