#include "config_prescan.h"

#include <fmt/format.h>
#include <yaml-cpp/eventhandler.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <sstream>
#include <vector>

namespace arbor {
namespace {

// Thrown by the checks below, out of yaml-cpp's parser, and caught in PrescanConfig(): it
// never crosses this file. yaml-cpp's parser is exception-safe (it throws its own).
struct Stop {
  PrescanError error;
};

[[noreturn]] void StopAt(const YAML::Mark& at, std::string message) {
  throw Stop{{at.line, at.column, std::move(message)}};
}

std::optional<PrescanError> CheckSize(std::string_view yaml) {
  if (yaml.size() <= kMaxConfigBytes) return std::nullopt;
  return PrescanError{0, 0,
                      fmt::format("the file is {} bytes; a config may be at most {} bytes "
                                  "(1 MiB)",
                                  yaml.size(), kMaxConfigBytes)};
}

// A tab in the run of blanks that starts a line, before content. yaml-cpp reports it as an
// "illegal map value" somewhere else on the line, or reads it as part of the value.
std::optional<PrescanError> CheckTabs(std::string_view yaml) {
  int line = 0;
  for (std::size_t start = 0; start < yaml.size(); ++line) {
    std::size_t end = yaml.find('\n', start);
    if (end == std::string_view::npos) end = yaml.size();
    std::string_view text = yaml.substr(start, end - start);
    std::size_t content = text.find_first_not_of(" \t");
    std::size_t tab = text.find('\t');
    bool has_content =
        content != std::string_view::npos && text[content] != '#' && text[content] != '\r';
    if (has_content && tab < content) {
      return PrescanError{line, static_cast<int>(tab),
                          "tabs are not allowed for indentation; indent with spaces"};
    }
    start = end + 1;
  }
  return std::nullopt;
}

// Where the quoted scalar starting at `open` ends (the closing quote), or npos.
std::size_t ClosingQuote(std::string_view yaml, std::size_t open) {
  char quote = yaml[open];
  for (std::size_t i = open + 1; i < yaml.size(); ++i) {
    if (quote == '"' && yaml[i] == '\\') {
      ++i;  // an escape: the next character is not the end
    } else if (yaml[i] == quote) {
      if (quote == '\'' && i + 1 < yaml.size() && yaml[i + 1] == '\'') {
        ++i;  // '' is a quote inside a single-quoted scalar
      } else {
        return i;
      }
    }
  }
  return std::string_view::npos;
}

// Walks the parser's events: documents, nesting depth, key kinds and quoted scalars.
class Checker : public YAML::EventHandler {
 public:
  explicit Checker(std::string_view yaml) : yaml_(yaml) {}
  const std::optional<PrescanError>& complex_key() const { return complex_key_; }

  void OnDocumentStart(const YAML::Mark& at) override {
    if (++documents_ > 1) {
      StopAt(at, "a second YAML document starts here ('---'); a config is one document");
    }
  }
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override { Item(); }
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override { Item(); }
  void OnScalar(const YAML::Mark& at, const std::string&, YAML::anchor_t,
                const std::string&) override {
    Item();
    CheckQuote(at);
  }
  void OnSequenceStart(const YAML::Mark& at, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {
    Open(at, false);
  }
  void OnSequenceEnd() override { stack_.pop_back(); }
  void OnMapStart(const YAML::Mark& at, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {
    Open(at, true);
  }
  void OnMapEnd() override { stack_.pop_back(); }

 private:
  struct Level {
    bool map;
    bool key_next;  // in a map: the next node is a key
  };

  // Every node takes the next slot of the collection it is in: key, value, key...
  void Item() {
    if (!stack_.empty() && stack_.back().map) stack_.back().key_next = !stack_.back().key_next;
  }

  // A collection as a key is kept, not thrown at once: yaml-cpp reads an unclosed '[' inside a
  // flow sequence as the key of a one-pair map, and the real error (the unclosed bracket) must
  // win over this one. Depth is enforced at once: that is what keeps the stack safe.
  void Open(const YAML::Mark& at, bool map) {
    if (!stack_.empty() && stack_.back().map && stack_.back().key_next && !complex_key_) {
      complex_key_ = PrescanError{at.line, at.column,
                                  "keys must be plain strings, not a sequence or a mapping"};
    }
    Item();
    stack_.push_back({map, true});
    if (stack_.size() > static_cast<std::size_t>(kMaxConfigNesting)) {
      StopAt(at, fmt::format("nesting deeper than {} levels", kMaxConfigNesting));
    }
  }

  // yaml-cpp 0.7 ends an unclosed quoted scalar at the end of the file without a word. The mark
  // is where the node starts: at its tag or anchor, if it has one, else at the quote.
  void CheckQuote(const YAML::Mark& at) {
    std::size_t p = static_cast<std::size_t>(at.pos);
    for (int properties = 0;
         properties < 2 && p < yaml_.size() && (yaml_[p] == '!' || yaml_[p] == '&'); ++properties) {
      p = yaml_.find_first_of(" \t\n", p);
      p = p == std::string_view::npos ? yaml_.size() : yaml_.find_first_not_of(" \t\n", p);
    }
    if (p >= yaml_.size() || (yaml_[p] != '"' && yaml_[p] != '\'')) return;
    if (ClosingQuote(yaml_, p) == std::string_view::npos) {
      std::size_t line_start = yaml_.rfind('\n', p);
      line_start = line_start == std::string_view::npos ? 0 : line_start + 1;
      YAML::Mark quote = at;
      quote.column = static_cast<int>(p - line_start);
      quote.line =
          at.line + static_cast<int>(std::count(yaml_.begin() + at.pos, yaml_.begin() + p, '\n'));
      StopAt(quote, fmt::format("the value quoted with {} here is never closed: add the closing "
                                "{} (the rest of the file was read as part of it)",
                                yaml_[p], yaml_[p]));
    }
  }

  std::string_view yaml_;
  int documents_ = 0;
  std::optional<PrescanError> complex_key_;
  std::vector<Level> stack_;
};

// UTF-8 only. yaml-cpp also reads UTF-16 and UTF-32 (it converts them, so its marks no longer
// count bytes of the file), and a NUL byte has no place in a config.
std::optional<PrescanError> CheckEncoding(std::string_view yaml) {
  std::size_t nul = yaml.find('\0');
  bool utf16_bom = yaml.substr(0, 2) == "\xfe\xff" || yaml.substr(0, 2) == "\xff\xfe";
  if (nul == std::string_view::npos && !utf16_bom) return std::nullopt;
  int line = static_cast<int>(std::count(yaml.begin(), yaml.begin() + (utf16_bom ? 0 : nul), '\n'));
  return PrescanError{line, 0,
                      "a config must be UTF-8 text (this one holds NUL bytes or is UTF-16)"};
}

}  // namespace

std::optional<PrescanError> PrescanConfig(std::string_view yaml) {
  if (auto e = CheckSize(yaml)) return e;
  if (auto e = CheckEncoding(yaml)) return e;
  if (auto e = CheckTabs(yaml)) return e;
  std::istringstream in{std::string(yaml)};
  YAML::Parser parser(in);
  // yaml-cpp's marks do not count a UTF-8 byte order mark.
  if (yaml.substr(0, 3) == "\xef\xbb\xbf") yaml.remove_prefix(3);
  Checker checker(yaml);
  try {
    while (parser.HandleNextDocument(checker)) {
    }
  } catch (const Stop& s) {
    return s.error;
  }
  return checker.complex_key();
}

}  // namespace arbor
