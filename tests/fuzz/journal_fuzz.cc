// The dictionary's journal and snapshot loader (plugins/dictionary/journal.h) on real files:
// each input becomes a data dir (a snapshot, a journal, a leftover snapshot.tmp) that
// Journal::Open loads, as a node restarting after a crash, a full disk or a bad disk would.
//
// Input: byte 0 is flags (bit 0: a snapshot file, bit 1: a journal file, bit 2: repair the
// checksums, so the fuzzer gets past them into the fields, bit 3: a snapshot.tmp), bytes 1-2
// the snapshot's length (little-endian, cut to what is there), then the snapshot, then the
// journal.
//
// What must hold, beyond no crash:
//  - a directory that is only damaged still opens (damage is Health(), not an error);
//  - a store found corrupt loads nothing and never writes: every file is byte for byte what it
//    was, also after an Append is refused;
//  - a healthy load changes nothing but cutting off a torn tail (at most one record, leaving a
//    prefix) and removing snapshot.tmp; loading again is a no-op with the same values; a record
//    appended after the cut and a compaction both come back on the next load;
//  - files that are wholly valid (checked here by a separate reading of the formats in
//    journal.h) load, to exactly the snapshot's entries overwritten by the journal's records.
#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "fuzz_check.h"
#include "journal.h"

namespace {

using Files = std::map<std::string, std::string>;  // name -> content, for every file in the dir

constexpr std::size_t kMaxWrittenRecord = 8 + 12 + 64 * 1024;  // journal.cc: one torn record
std::string g_dir;

std::uint32_t Crc32(std::string_view data) {
  static const std::array<std::uint32_t, 256> table = [] {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
      std::uint32_t c = i;
      for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
      t[i] = c;
    }
    return t;
  }();
  std::uint32_t crc = ~0u;
  for (char ch : data) crc = table[(crc ^ static_cast<unsigned char>(ch)) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}

std::uint32_t GetU32(const std::string& s, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v |= std::uint32_t{static_cast<unsigned char>(s[at + i])} << (8 * i);
  return v;
}

void PutU32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}

void PutU64(std::string& s, std::size_t at, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) s[at + i] = static_cast<char>((v >> (8 * i)) & 0xFFu);
}

// The body length and both checksums made right (journal.h has the 36-byte header).
void RepairSnapshot(std::string& s) {
  if (s.size() < 36) return;
  PutU64(s, 20, s.size() - 36);
  PutU32(s, 28, Crc32(std::string_view(s).substr(36)));
  PutU32(s, 32, Crc32(std::string_view(s).substr(0, 32)));
}

// Each record's checksum made right, for as long as the lengths make records.
void RepairJournal(std::string& s) {
  for (std::size_t at = 0; at + 8 <= s.size();) {
    std::size_t len = GetU32(s, at);
    if (len < 13 || len > s.size() - at - 8) return;
    PutU32(s, at + 4, Crc32(std::string_view(s).substr(at + 8, len)));
    at += 8 + len;
  }
}

std::uint64_t GetU64(const std::string& s, std::size_t at) {
  return GetU32(s, at) | std::uint64_t{GetU32(s, at + 4)} << 32;
}

// The entries of a snapshot that is valid in every field, or nullopt.
std::optional<dictionary::Map> ModelSnapshot(const std::string& s) {
  if (s.size() < 36 || s.compare(0, 8, "arbordic") != 0 || GetU32(s, 8) != 1) return std::nullopt;
  if (GetU64(s, 20) != s.size() - 36 || GetU32(s, 28) != Crc32(std::string_view(s).substr(36)) ||
      GetU32(s, 32) != Crc32(std::string_view(s).substr(0, 32))) {
    return std::nullopt;
  }
  dictionary::Map m;
  std::size_t at = 36;
  for (std::uint64_t i = GetU64(s, 12); i > 0; --i) {
    if (s.size() - at < 12) return std::nullopt;
    std::size_t len = GetU32(s, at);
    if (len == 0 || len > s.size() - at - 12) return std::nullopt;
    if (!m.emplace(s.substr(at + 4, len), static_cast<std::int64_t>(GetU64(s, at + 4 + len))).second) {
      return std::nullopt;
    }
    at += 12 + len;
  }
  if (at != s.size()) return std::nullopt;
  return m;
}

// *m with every record of a journal that is valid to its last byte applied, or false.
bool ModelJournal(const std::string& s, dictionary::Map* m) {
  for (std::size_t at = 0; at < s.size();) {
    if (s.size() - at < 8) return false;
    std::size_t len = GetU32(s, at);
    if (len < 13 || len > 12 + (1u << 20) || len > s.size() - at - 8) return false;
    if (Crc32(std::string_view(s).substr(at + 8, len)) != GetU32(s, at + 4)) return false;
    if (GetU32(s, at + 8) + 12 != len) return false;
    // payload at at + 8: u32 name_len | name (len - 12 bytes) | i64 value, which ends the record
    (*m)[s.substr(at + 12, len - 12)] = static_cast<std::int64_t>(GetU64(s, at + len));
    at += 8 + len;
  }
  return true;
}

void WriteFile(const std::string& name, const std::string& content) {
  std::FILE* f = std::fopen((g_dir + "/" + name).c_str(), "wb");
  FUZZ_CHECK(f != nullptr);
  FUZZ_CHECK(std::fwrite(content.data(), 1, content.size(), f) == content.size());
  FUZZ_CHECK(std::fclose(f) == 0);
}

Files ReadDir() {
  Files files;
  DIR* d = ::opendir(g_dir.c_str());
  FUZZ_CHECK(d != nullptr);
  while (dirent* e = ::readdir(d)) {
    std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    std::FILE* f = std::fopen((g_dir + "/" + name).c_str(), "rb");
    FUZZ_CHECK(f != nullptr);
    std::string content;
    std::array<char, 4096> buf;
    for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), f)) > 0;) content.append(buf.data(), n);
    std::fclose(f);
    files[name] = content;
  }
  ::closedir(d);
  return files;
}

void ClearDir() {
  for (const auto& [name, content] : ReadDir()) ::unlink((g_dir + "/" + name).c_str());
}

std::unique_ptr<dictionary::Journal> Open(dictionary::Map* values) {
  auto j = dictionary::Journal::Open(g_dir, dictionary::Durability::kFlush, 1, values);
  FUZZ_CHECK(j.ok());  // damage is Health(), never an error: the directory itself is fine
  return std::move(j).value();
}

void CheckCorrupt(dictionary::Journal& j, const dictionary::Map& values, const Files& before) {
  FUZZ_CHECK(j.Health().code() == arbor::Code::kFailedPrecondition);
  FUZZ_CHECK(j.Health().message().find("corrupt") != std::string::npos);
  FUZZ_CHECK(values.empty());
  FUZZ_CHECK(ReadDir() == before);
  FUZZ_CHECK(!j.Append("k", 1).ok());
  FUZZ_CHECK(!j.Sync().ok());
  FUZZ_CHECK(!j.CompactionDue());
  FUZZ_CHECK(ReadDir() == before);
}

void CheckHealthy(std::unique_ptr<dictionary::Journal> j, dictionary::Map values,
                  const Files& before) {
  Files after = ReadDir();
  FUZZ_CHECK(after.count("snapshot.tmp") == 0);
  FUZZ_CHECK(after.count("snapshot") == before.count("snapshot"));
  if (before.count("snapshot") != 0) FUZZ_CHECK(after["snapshot"] == before.at("snapshot"));
  FUZZ_CHECK(after.count("journal") == 1);
  if (before.count("journal") != 0) {
    const std::string& was = before.at("journal");
    const std::string& now = after["journal"];
    FUZZ_CHECK(now.size() <= was.size() && was.size() - now.size() <= kMaxWrittenRecord);
    FUZZ_CHECK(was.compare(0, now.size(), now) == 0);
  } else {
    FUZZ_CHECK(after["journal"].empty());
  }

  // Loading what the first load left is a no-op with the same values.
  j.reset();
  dictionary::Map reloaded;
  j = Open(&reloaded);
  FUZZ_CHECK(j->Health().ok() && reloaded == values && ReadDir() == after);

  // A record after the cut, then a compaction (compact_every is 1), both survive a reload.
  FUZZ_CHECK(j->Append("fuzz", -7).ok());
  values["fuzz"] = -7;
  FUZZ_CHECK(j->CompactionDue());
  j->Compact(values);
  FUZZ_CHECK(j->Health().ok());
  j.reset();
  j = Open(&reloaded);
  FUZZ_CHECK(j->Health().ok() && reloaded == values);
  FUZZ_CHECK(ReadDir()["journal"].empty());
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  const char* base = ::access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";  // tmpfs: fsync is free
  std::string tmpl = std::string(base) + "/arbor-journal-fuzz-XXXXXX";
  FUZZ_CHECK(::mkdtemp(tmpl.data()) != nullptr);
  g_dir = tmpl;
  std::atexit([] {
    ClearDir();
    ::rmdir(g_dir.c_str());
  });
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 3) return 0;
  const std::uint8_t flags = data[0];
  std::string_view rest(reinterpret_cast<const char*>(data) + 3, size - 3);
  std::size_t snapshot_len = std::min<std::size_t>(data[1] | data[2] << 8, rest.size());
  std::string snapshot(rest.substr(0, snapshot_len));
  std::string journal(rest.substr(snapshot_len));
  if ((flags & 4) != 0) {
    RepairSnapshot(snapshot);
    RepairJournal(journal);
  }

  ClearDir();
  if ((flags & 1) != 0) WriteFile("snapshot", snapshot);
  if ((flags & 2) != 0) WriteFile("journal", journal);
  if ((flags & 8) != 0) WriteFile("snapshot.tmp", "half a compaction");
  const Files before = ReadDir();

  dictionary::Map values;
  std::unique_ptr<dictionary::Journal> j = Open(&values);
  // Wholly valid files must load, to exactly what the formats say.
  std::optional<dictionary::Map> model = dictionary::Map();
  if ((flags & 1) != 0) model = ModelSnapshot(snapshot);
  if (model && (flags & 2) != 0 && !ModelJournal(journal, &*model)) model.reset();
  if (model) FUZZ_CHECK(j->Health().ok() && values == *model);
  if (j->Health().ok()) {
    CheckHealthy(std::move(j), std::move(values), before);
  } else {
    CheckCorrupt(*j, values, before);
  }
  return 0;
}
