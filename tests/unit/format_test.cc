// Every result line the controller prints, exactly as SPEC.md spells it.
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "format.h"
#include "json_line.h"

namespace arbor::controller {
namespace {

OpResult Ok(std::string text = "") { return {Status::Ok(), std::move(text)}; }
OpResult Failed(Status s) { return {std::move(s), ""}; }

TEST_CASE("format: plugin verb answers") {
  OpResult empty = Ok();
  OpResult five = Ok("5");
  OpResult missing = Ok("'MyVar' not found");
  CHECK(FormatVerb(10, Status::Ok(), &empty) == "Ok:10");
  CHECK(FormatVerb(10, Status::Ok(), &five) == "Ok:10: 5");
  CHECK(FormatVerb(10, Status::Ok(), &missing) == "Ok:10: 'MyVar' not found");
  CHECK(FormatVerb(-3, Status::Ok(), &five) == "Ok:-3: 5");
}

TEST_CASE("format: plugin verb errors") {
  CHECK(FormatNotFoundVerb(12) == "Error:12: Not found");
  // The controller checks existence itself; a hop without the child means the tree is
  // incomplete for now (a respawned node taking its children back), so: unavailable.
  CHECK(FormatVerb(12, NotFound("node 10 has no child on the side of 12"), nullptr) ==
        "Error:12: Node is unavailable");
  CHECK(FormatNotFoundVerb(12) == "Error:12: Not found");
  CHECK(FormatVerb(5, Unavailable("node 5 did not answer in time"), nullptr) ==
        "Error:5: Node is unavailable");
  // The route status decides even when an op result is at hand.
  OpResult five = Ok("5");
  CHECK(FormatVerb(5, Unavailable("x"), &five) == "Error:5: Node is unavailable");

  OpResult bad = Failed(InvalidArgument("invalid value 'abc': not an integer"));
  CHECK(FormatVerb(5, Status::Ok(), &bad) == "Error:5: invalid value 'abc': not an integer");
  OpResult unknown = Failed(UnknownVerb("node 5 serves no verb 'exec'"));
  CHECK(FormatVerb(5, Status::Ok(), &unknown) == "Error:5: node 5 serves no verb 'exec'");
  OpResult internal = Failed(Internal("plugin 'thrower' failed in 'boom': kaboom"));
  CHECK(FormatVerb(5, Status::Ok(), &internal) ==
        "Error:5: plugin 'thrower' failed in 'boom': kaboom");

  CHECK(FormatVerb(5, Internal("transport broke"), nullptr) == "Error:5: transport broke");
  CHECK_THAT(FormatVerb(5, Status::Ok(), nullptr), Catch::StartsWith("Error:5: "));
}

TEST_CASE("format: ping") {
  OpResult ok = Ok();
  CHECK(FormatPing(5, Status::Ok(), &ok) == "Ok: 1");
  CHECK(FormatPing(5, Unavailable("dead"), nullptr) == "Ok: 0");
  CHECK(FormatPing(5, Unavailable("dead"), &ok) == "Ok: 0");
  CHECK(FormatPing(5, NotFound("gone"), nullptr) == "Ok: 0");
  CHECK(FormatPing(5, Status::Ok(), nullptr) == "Ok: 0");

  OpResult no_ping = Failed(UnknownVerb("node 5 serves no verb 'ping'"));
  std::string m = FormatPing(5, Status::Ok(), &no_ping);
  CHECK_THAT(m, Catch::StartsWith("Error: node 5 cannot be pinged"));
  CHECK_THAT(m, Catch::Contains("ping plugin"));

  OpResult broken = Failed(Internal("ping broke"));
  CHECK(FormatPing(5, Status::Ok(), &broken) == "Error: ping broke");
  CHECK(FormatPing(5, Internal("transport broke"), nullptr) == "Error: transport broke");
}

TEST_CASE("format: pingall") {
  CHECK(FormatPingAll({}) == "Ok: -1");
  CHECK(FormatPingAll({7}) == "Ok: 7");
  CHECK(FormatPingAll({7, 10, 15}) == "Ok: 7;10;15");
  CHECK(FormatPingAll({-2, 0}) == "Ok: -2;0");
}

TEST_CASE("format: create") {
  CHECK(FormatCreate(Result<pid_t>(4242)) == "Ok: 4242");
  CHECK(FormatCreate(Result<pid_t>(AlreadyExists("node 5 exists"))) == "Error: Already exists");
  CHECK(FormatCreate(Result<pid_t>(Unavailable("parent 3 is dead"))) ==
        "Error: Parent is unavailable");
  CHECK(FormatCreate(Result<pid_t>(Internal("fork failed: out of memory"))) ==
        "Error: fork failed: out of memory");
  CHECK(FormatCreate(Result<pid_t>(InvalidArgument("bad id"))) == "Error: bad id");
}

TEST_CASE("format: remove") {
  CHECK(FormatRemove(Status::Ok()) == "Ok");
  CHECK(FormatRemove(NotFound("no node 9")) == "Error: Not found");
  CHECK(FormatRemove(Unavailable("node 9 did not answer")) == "Error: Node is unavailable");
  CHECK(FormatRemove(Internal("kill failed")) == "Error: kill failed");
}

TEST_CASE("format: error") {
  CHECK(FormatError(InvalidArgument("usage: remove <id>")) == "Error: usage: remove <id>");
  CHECK(FormatError(Internal("")) == "Error: ");
}

TEST_CASE("json: string escaping keeps every line valid JSON") {
  CHECK(JsonQuote("") == "\"\"");
  CHECK(JsonQuote("plain text") == "\"plain text\"");
  CHECK(JsonQuote("a\"b\\c") == "\"a\\\"b\\\\c\"");
  CHECK(JsonQuote("tab\tnl\n\x01\x1f\x7f") == "\"tab\\u0009nl\\u000a\\u0001\\u001f\\u007f\"");
  CHECK(JsonQuote(std::string_view("nul\0!", 5)) == "\"nul\\u0000!\"");
  CHECK(JsonQuote("caf\xC3\xA9 \xE2\x94\x9C \xF0\x9F\x8C\xB3") ==
        "\"caf\xC3\xA9 \xE2\x94\x9C \xF0\x9F\x8C\xB3\"");
  // Not UTF-8: a lone continuation byte, a cut sequence, an overlong form, a surrogate.
  CHECK(JsonQuote("\x80") == "\"\\ufffd\"");
  CHECK(JsonQuote("\xC3") == "\"\\ufffd\"");
  CHECK(JsonQuote("\xC0\xAF") == "\"\\ufffd\\ufffd\"");
  CHECK(JsonQuote("\xED\xA0\x80") == "\"\\ufffd\\ufffd\\ufffd\"");
}

TEST_CASE("json: one object per answer, fields in a fixed order") {
  Outcome ok = VerbOutcome(10, Status::Ok(), nullptr);
  OpResult five{Status::Ok(), "5"};
  CHECK(JsonLine("exec 10 x", 10, VerbOutcome(10, Status::Ok(), &five), 0.2134) ==
        R"({"command":"exec 10 x","ok":true,"id":10,"result":"5","time_ms":0.213})");
  CHECK(JsonLine("exec 12 x", 12, NotFoundVerbOutcome(12), 0) ==
        R"({"command":"exec 12 x","ok":false,"id":12,"error":"Not found","time_ms":0.000})");
  CHECK(JsonLine("pingall", std::nullopt, PingAllOutcome({3, 7}), 1.5) ==
        R"({"command":"pingall","ok":true,"result":"3;7","time_ms":1.500})");
  CHECK(JsonLine("remove 4", 4, RemoveOutcome(Status::Ok()), 2) ==
        R"({"command":"remove 4","ok":true,"id":4,"result":"","time_ms":2.000})");
  CHECK(PlainLine(ok) == "Error:10: the node sent no result");
  CHECK(PlainLine(OkOutcome("a\nb", Outcome::Style::kText)) == "a\nb");
}

// Plugin answers and error messages quote input; printed raw, an ESC drives the terminal and a
// newline splits one result into two lines. The normal SPEC strings are unchanged.
TEST_CASE("format: answers and errors from a plugin are escaped onto one line") {
  OpResult sneaky = Ok("a\x1b[2Jb\nOk:10: 7");
  CHECK(FormatVerb(10, Status::Ok(), &sneaky) == "Ok:10: a\\x1b[2Jb\\nOk:10: 7");
  OpResult bad = Failed(InvalidArgument("invalid name 'a\x1b" "b\r\n'"));
  CHECK(FormatVerb(10, Status::Ok(), &bad) == "Error:10: invalid name 'a\\x1b" "b\\r\\n'");
  CHECK(FormatError(InvalidArgument(std::string("nul \0 here", 10))) ==
        "Error: nul \\x00 here");
  CHECK(FormatVerb(10, Unavailable("gone\n"), nullptr) == "Error:10: Node is unavailable");
  OpResult missing = Ok("'MyVar' not found");
  CHECK(FormatVerb(10, Status::Ok(), &missing) == "Ok:10: 'MyVar' not found");
}

}  // namespace
}  // namespace arbor::controller
