// Escape: makes text that came from outside (a config value, a command argument, a plugin's
// reply) safe to print on one terminal line.
//
// Every message that quotes input goes through Escape() before it reaches a terminal or a log:
// a raw ESC lets input drive the terminal (escape injection), and a raw newline turns one error
// line into two, which breaks scripts that read one line per command.
//
// Printable ASCII and valid UTF-8 from U+00A0 up pass unchanged, so normal values (and the
// exact SPEC result strings) are untouched. Everything else becomes a C-style escape: \n, \r,
// \t, and \xNN for other control bytes, C1 controls (U+0080-U+009F, which some terminals obey)
// and bytes that are not valid UTF-8. A backslash is left as it is, so Escape(Escape(s)) ==
// Escape(s): text escaped where it is quoted can safely pass a second sink that escapes again.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <string_view>

namespace spdlog {
class logger;
}

namespace arbor {

std::string Escape(std::string_view text);
// Escape(text) appended to `out`: for lines built piece by piece, with no string per piece.
void AppendEscaped(std::string& out, std::string_view text);

// The length of the valid UTF-8 sequence that starts at s[i] (2 to 4 bytes), or 0 when there is
// none there: ASCII, a stray continuation byte, an overlong form, a surrogate, past U+10FFFF.
std::size_t Utf8Length(std::string_view s, std::size_t i);

// Gives `logger` the pattern `pattern`, in which the flag "%E" is the log message escaped. Use
// "%E" instead of "%v" in every logger pattern, so a log line that quotes input stays one safe
// line. Example: InstallEscapingPattern(*logger, "arbor: [%l] %E").
void InstallEscapingPattern(spdlog::logger& logger, const std::string& pattern);

}  // namespace arbor
