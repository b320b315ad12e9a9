#include "raw_wire.h"

#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include <catch2/catch.hpp>
#include <fstream>
#include <iterator>

namespace arbor::testing {

std::string SessionOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
  std::string cmd((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string flag = std::string("--session") + '\0';
  auto at = cmd.find(flag);
  if (at == std::string::npos) return "";
  at += flag.size();
  return cmd.substr(at, cmd.find('\0', at) - at);
}

std::string NodeUrl(pid_t pid, long id) {
  return "abstract://arbor/" + SessionOf(pid) + "/" + std::to_string(id);
}

std::optional<std::string> RawExchange(const std::string& url, const std::string& bytes) {
  nng_socket s;
  REQUIRE(nng_req0_open(&s) == 0);
  nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, 3000);
  nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, 3000);
  REQUIRE(nng_dial(s, url.c_str(), nullptr, 0) == 0);
  std::optional<std::string> out;
  if (nng_send(s, const_cast<char*>(bytes.data()), bytes.size(), 0) == 0) {
    char* buf = nullptr;
    size_t len = 0;
    if (nng_recv(s, &buf, &len, NNG_FLAG_ALLOC) == 0) {
      out = std::string(buf, len);
      nng_free(buf, len);
    }
  }
  nng_close(s);
  return out;
}

BatchReply RawBatch(const std::string& url, const BatchRequest& batch) {
  std::optional<std::string> reply = RawExchange(url, EncodeBatch(batch));
  REQUIRE(reply);
  Result<BatchReply> d =
      DecodeBatchReply({reinterpret_cast<const std::uint8_t*>(reply->data()), reply->size()});
  REQUIRE(d.ok());
  return std::move(d).value();
}

}  // namespace arbor::testing
