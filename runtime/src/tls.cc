#include "tls.h"

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "nng_status.h"

namespace arbor {
namespace {

Result<std::string> ReadPem(const std::string& what, const std::string& path) {
  std::ifstream in(path);
  if (!in) return NotFound(fmt::format("tls {} '{}' cannot be read", what, path));
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Wipes a string holding key material before it is freed.
void Wipe(std::string& s) {
  volatile char* p = s.data();
  for (std::size_t i = 0; i < s.size(); ++i) p[i] = 0;
  s.clear();
}

Result<nng_tls_config*> MakeConfig(const TlsFiles& files, nng_tls_mode mode) {
  if (!files.complete()) return FailedPrecondition("tls needs a ca, a cert and a key");
  nng_tls_config* cfg = nullptr;
  if (int rv = nng_tls_config_alloc(&cfg, mode); rv != 0) return FromNng(rv, "tls config");
  auto fail = [&](int rv, const std::string& what) {
    nng_tls_config_free(cfg);
    return FromNng(rv, what);
  };
  if (int rv = nng_tls_config_auth_mode(cfg, NNG_TLS_AUTH_MODE_REQUIRED); rv != 0) {
    return fail(rv, "tls auth mode");
  }
  if (int rv = nng_tls_config_ca_file(cfg, files.ca.c_str()); rv != 0) {
    return fail(rv, fmt::format("tls ca '{}'", files.ca));
  }
  Result<std::string> cert = ReadPem("cert", files.cert);
  if (!cert.ok()) return nng_tls_config_free(cfg), cert.status();
  Result<std::string> key = ReadPem("key", files.key);
  if (!key.ok()) return nng_tls_config_free(cfg), key.status();
  int rv = nng_tls_config_own_cert(cfg, cert->c_str(), key->c_str(), nullptr);
  Wipe(*key);
  if (rv != 0) return fail(rv, fmt::format("tls cert '{}' with key '{}'", files.cert, files.key));
  return cfg;
}

}  // namespace

bool IsTlsUrl(std::string_view url) { return url.rfind("tls+tcp", 0) == 0; }

std::string UrlHost(std::string_view url) {
  auto p = url.find("://");
  std::string_view rest = p == std::string_view::npos ? url : url.substr(p + 3);
  rest = rest.substr(0, rest.find('/'));
  if (!rest.empty() && rest.front() == '[') return std::string(rest.substr(1, rest.find(']') - 1));
  return std::string(rest.substr(0, rest.rfind(':')));
}

Status ConfigureTls(nng_dialer dialer, const TlsFiles& files, const std::string& server_name) {
  Result<nng_tls_config*> cfg = MakeConfig(files, NNG_TLS_MODE_CLIENT);
  if (!cfg.ok()) return cfg.status();
  int rv = nng_tls_config_server_name(*cfg, server_name.c_str());
  if (rv == 0) rv = nng_dialer_set_ptr(dialer, NNG_OPT_TLS_CONFIG, *cfg);
  nng_tls_config_free(*cfg);  // the dialer holds its own reference
  return FromNng(rv, "tls dialer");
}

Status ConfigureTls(nng_listener listener, const TlsFiles& files) {
  Result<nng_tls_config*> cfg = MakeConfig(files, NNG_TLS_MODE_SERVER);
  if (!cfg.ok()) return cfg.status();
  int rv = nng_listener_set_ptr(listener, NNG_OPT_TLS_CONFIG, *cfg);
  nng_tls_config_free(*cfg);
  return FromNng(rv, "tls listener");
}

std::string TlsDialError(int rv) {
  switch (rv) {
    case NNG_ECRYPTO:
      return "bad certificate: the peer's certificate is not signed by the deployment's CA or "
             "does not name its address, or ours is refused";
    case NNG_EPEERAUTH:
      return "the peer could not be authenticated (no CA to check it against)";
    case NNG_ECONNSHUT:
      return "the peer closed the TLS handshake (it refused our certificate, or we sent none)";
    default:
      return nng_strerror(rv);
  }
}

}  // namespace arbor
