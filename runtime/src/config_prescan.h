// Config prescan: what yaml-cpp 0.7 lets through, or reports in words nobody can act on,
// checked on the raw text before the config is read (config_yaml.cc).
//
// - A file larger than kMaxConfigBytes is refused before yaml-cpp sees it (a 50 MB list costs
//   yaml-cpp gigabytes), and so is one that is not UTF-8 (NUL bytes, a UTF-16 byte order mark).
// - A tab in a line's indentation is named (yaml-cpp says "illegal map value").
// - A quoted value with no closing quote is refused at the line where the quote opened
//   (yaml-cpp swallows the rest of the file into the value).
// - A second document ("---") is refused (YAML::Load reads the first and ignores the rest).
// - Nesting deeper than kMaxConfigNesting is refused as soon as the parser reaches that depth,
//   long before yaml-cpp's own recursion guard ("bad file", at a column past the end) or the
//   stack.
// - A key that is a sequence or a mapping is refused (yaml-cpp: "bad conversion").
//
// Thread-safety: a pure function.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace arbor {

inline constexpr std::size_t kMaxConfigBytes = 1 << 20;
inline constexpr int kMaxConfigNesting = 32;

struct PrescanError {
  int line = 0;    // 0-based, as yaml-cpp marks are
  int column = 0;  // 0-based
  std::string message;
};

// The first problem found, or nullopt. A YAML syntax error is left to the real parse: it
// surfaces there as YAML::Exception with yaml-cpp's own mark.
std::optional<PrescanError> PrescanConfig(std::string_view yaml);

}  // namespace arbor
