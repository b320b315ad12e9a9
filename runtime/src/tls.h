// TLS: the one place that turns a deployment's TlsFiles into nng's TLS configuration.
//
// Every tls+tcp connection in arbor is mutually authenticated: both ends present a certificate
// signed by the deployment's CA, and each refuses a peer without one (NNG_TLS_AUTH_MODE_REQUIRED).
// The private key is read here, on the host that uses it, and wiped from memory once mbed TLS
// has parsed it; it is never logged and never sent anywhere.
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

#include <nng/nng.h>
#include <nng/supplemental/tls/tls.h>

#include "arbor/config.h"
#include "arbor/result.h"

namespace arbor {

bool IsTlsUrl(std::string_view url);
// The host part of "tls+tcp://host:port", which the client checks the server's certificate
// against (mbed TLS matches it with a DNS subjectAltName, even for an IP address).
std::string UrlHost(std::string_view url);

// Sets a TLS configuration for `files` on a dialer (checking the server's name) or a listener.
// Must run before the dialer or listener starts: nng ignores a config set afterwards.
Status ConfigureTls(nng_dialer dialer, const TlsFiles& files, const std::string& server_name);
Status ConfigureTls(nng_listener listener, const TlsFiles& files);

// A message a user can act on for a failed TLS dial, from nng's error code.
std::string TlsDialError(int rv);

}  // namespace arbor
