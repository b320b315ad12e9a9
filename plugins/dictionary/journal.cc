// The dictionary's durable store. The formats and the failure rules are described in journal.h;
// this file explains, step by step, why the order of the system calls keeps every acknowledged
// set on disk whenever the node is killed (and, with fsync, whenever the machine goes down).
//
// The invariant, at every moment: replaying `snapshot` (if any) and then `journal` gives at
// least every acknowledged set, in order. Each step below is checked against it.
#include "journal.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <optional>
#include <system_error>
#include <utility>

namespace dictionary {
namespace {

// --- Bytes: CRC32 and little-endian integers --------------------------------------------------

// The table-driven CRC32 everyone uses (zlib, PNG, Ethernet), written out so that the plugin
// needs no library. Computed at compile time.
constexpr std::array<std::uint32_t, 256> kCrcTable = [] {
  std::array<std::uint32_t, 256> table{};
  for (std::uint32_t i = 0; i < 256; ++i) {
    std::uint32_t c = i;
    for (int k = 0; k < 8; ++k) c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
    table[i] = c;
  }
  return table;
}();

// Crc32(b, Crc32(a)) == Crc32(a + b), so a long body can be checksummed piece by piece.
constexpr std::uint32_t Crc32(std::string_view data, std::uint32_t crc = 0) {
  crc = ~crc;
  for (char ch : data) crc = kCrcTable[(crc ^ static_cast<unsigned char>(ch)) & 0xFFu] ^ (crc >> 8);
  return ~crc;
}
static_assert(Crc32("123456789") == 0xCBF43926u, "the standard CRC32 check value");

void PutU32(std::string& out, std::uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}
void PutU64(std::string& out, std::uint64_t v) {
  for (int i = 0; i < 8; ++i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xFFu));
}
std::uint32_t GetU32(std::string_view bytes, std::size_t at) {
  std::uint32_t v = 0;
  for (int i = 0; i < 4; ++i)
    v |= std::uint32_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
  return v;
}
std::uint64_t GetU64(std::string_view bytes, std::size_t at) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i)
    v |= std::uint64_t{static_cast<unsigned char>(bytes[at + i])} << (8 * i);
  return v;
}

// --- The formats (see journal.h) ----------------------------------------------------------------

// Why name_len is a u32 and not a u16: the wire allows strings of 64 KiB, one byte more than a
// u16 holds. A record claiming a name over this limit is damage, not data; the limit also keeps
// the search for valid records after a bad one (ValidRecordFrom) cheap.
constexpr std::uint32_t kMaxNameBytes = 1u << 20;
constexpr std::size_t kEntryOverhead = 4 + 8;  // name_len + value
constexpr std::size_t kRecordHeader = 4 + 4;   // payload_len + crc32
constexpr std::size_t kMinPayload = kEntryOverhead + 1;
constexpr std::size_t kMaxPayload = kEntryOverhead + kMaxNameBytes;

constexpr std::string_view kSnapshotMagic = "arbordic";
constexpr std::uint32_t kSnapshotVersion = 1;
constexpr std::size_t kSnapshotHeader = 8 + 4 + 8 + 8 + 4 + 4;  // see SnapshotHeader
constexpr std::size_t kWriteChunk = 1 << 20;  // a snapshot is written in pieces of about this

void PutEntry(std::string& out, std::string_view name, std::int64_t value) {
  PutU32(out, static_cast<std::uint32_t>(name.size()));
  out.append(name);
  PutU64(out, static_cast<std::uint64_t>(value));
}

std::string EncodeRecord(std::string_view name, std::int64_t value) {
  std::string payload;
  PutEntry(payload, name, value);
  std::string record;
  record.reserve(kRecordHeader + payload.size());
  PutU32(record, static_cast<std::uint32_t>(payload.size()));
  PutU32(record, Crc32(payload));
  record += payload;
  return record;
}

std::string SnapshotHeader(std::uint64_t count, std::uint64_t body_len, std::uint32_t body_crc) {
  std::string header(kSnapshotMagic);  // bytes 0..8
  PutU32(header, kSnapshotVersion);    // 8..12
  PutU64(header, count);               // 12..20
  PutU64(header, body_len);            // 20..28
  PutU32(header, body_crc);            // 28..32
  PutU32(header, Crc32(header));       // 32..36: the header checks itself
  return header;
}

// Where a file stops making sense, and why, for the error a human reads.
struct Damage {
  std::uint64_t offset = 0;
  std::string why;
};

// Decodes the journal record that starts at byte `at` of `file`. Returns its size, or 0 and
// sets *why when there is no valid record there.
std::size_t DecodeRecord(std::string_view file, std::size_t at, std::string_view* name,
                         std::int64_t* value, std::string* why) {
  const std::size_t left = file.size() - at;
  if (left < kRecordHeader) {
    *why = "the file ends inside a record header";
    return 0;
  }
  const std::size_t len = GetU32(file, at);
  if (len < kMinPayload || len > kMaxPayload) {
    *why = "impossible record length " + std::to_string(len);
    return 0;
  }
  if (left - kRecordHeader < len) {
    *why = "the file ends inside a record of " + std::to_string(kRecordHeader + len) + " bytes";
    return 0;
  }
  const std::string_view payload = file.substr(at + kRecordHeader, len);
  if (Crc32(payload) != GetU32(file, at + 4)) {
    *why = "checksum mismatch";
    return 0;
  }
  if (GetU32(payload, 0) + kEntryOverhead != len) {
    *why = "the name length does not match the record length";
    return 0;
  }
  *name = payload.substr(4, len - kEntryOverhead);
  *value = static_cast<std::int64_t>(GetU64(payload, 4 + name->size()));
  return kRecordHeader + len;
}

// The longest record a set can write: the wire carries names of at most 64 KiB. A crash tears
// at most the record being written, so damage that starts further than this from the end of
// the file cannot be a torn write.
constexpr std::size_t kMaxWrittenRecord = kRecordHeader + kEntryOverhead + 64 * 1024;
// What the search for a valid record after damage may spend on checksums. A real torn tail
// costs next to nothing (its name bytes read as impossible lengths); only crafted bytes make
// many offsets worth a CRC, and those are called corruption rather than searched for minutes.
constexpr std::size_t kSearchBudgetBytes = 16u << 20;

enum class Search { kNothing, kFound, kTooCostly };

// Whether a valid record starts anywhere in `file` at or after byte `from`. A random 8-byte
// header almost never passes the length checks, and one that does still needs a matching
// CRC32, so this tells garbage from data reliably.
Search ValidRecordFrom(std::string_view file, std::size_t from) {
  std::string_view name;
  std::int64_t value = 0;
  std::string why;
  std::size_t spent = 0;
  for (std::size_t at = from; at + kRecordHeader <= file.size(); ++at) {
    const std::size_t len = GetU32(file, at);
    if (len < kMinPayload || len > kMaxPayload || file.size() - at - kRecordHeader < len) continue;
    if ((spent += len) > kSearchBudgetBytes) return Search::kTooCostly;
    if (DecodeRecord(file, at, &name, &value, &why) != 0) return Search::kFound;
  }
  return Search::kNothing;
}

struct Replay {
  std::uint64_t good_bytes = 0;   // the length of the valid prefix
  std::uint64_t records = 0;      // records in it
  std::optional<Damage> torn;     // a write cut short by a crash: dropped
  std::optional<Damage> corrupt;  // anything else: nothing may be loaded
};

Replay ReplayJournal(std::string_view file, Map* values) {
  Replay r;
  std::size_t at = 0;
  while (at < file.size()) {
    std::string_view name;
    std::int64_t value = 0;
    std::string why;
    const std::size_t n = DecodeRecord(file, at, &name, &value, &why);
    if (n == 0) {
      // Torn or corrupt? A write torn by a crash is the last thing in the file, and at most one
      // record long: it was the last write. More damage than that, or a valid record after it,
      // means something broke data already written.
      const std::size_t damaged = file.size() - at;
      if (damaged > kMaxWrittenRecord) {
        r.corrupt = Damage{at, why + ", and the " + std::to_string(damaged) +
                                   " bytes from there to the end are more than one record"};
        break;
      }
      switch (ValidRecordFrom(file, at + 1)) {
        case Search::kNothing:
          r.torn = Damage{at, why};
          break;
        case Search::kFound:
          r.corrupt = Damage{at, why + ", and a valid record follows"};
          break;
        case Search::kTooCostly:
          r.corrupt = Damage{at, why + ", and what follows is not the tail of one record"};
          break;
      }
      break;
    }
    (*values)[std::string(name)] = value;  // later records overwrite earlier ones: replay order
    at += n;
    r.good_bytes = at;
    ++r.records;
  }
  return r;
}

// Loads a snapshot into *values, or says where it is damaged. The rename in Compact makes a
// torn snapshot impossible unless the disk lies; every field is still checked.
std::optional<Damage> LoadSnapshot(std::string_view file, Map* values) {
  if (file.size() < kSnapshotHeader) {
    return Damage{file.size(), "the file ends inside the header"};
  }
  if (file.substr(0, kSnapshotMagic.size()) != kSnapshotMagic) {
    return Damage{0, "not a dictionary snapshot"};
  }
  if (Crc32(file.substr(0, 32)) != GetU32(file, 32)) return Damage{32, "header checksum mismatch"};
  if (std::uint32_t version = GetU32(file, 8); version != kSnapshotVersion) {
    return Damage{8, "unknown snapshot version " + std::to_string(version)};
  }
  const std::uint64_t count = GetU64(file, 12);
  const std::uint64_t body_len = GetU64(file, 20);
  const std::string_view body = file.substr(kSnapshotHeader);
  if (body.size() != body_len) {
    return Damage{kSnapshotHeader, "the body is " + std::to_string(body.size()) +
                                       " bytes, the header says " + std::to_string(body_len)};
  }
  if (Crc32(body) != GetU32(file, 28)) return Damage{kSnapshotHeader, "body checksum mismatch"};
  std::size_t at = 0;
  for (std::uint64_t i = 0; i < count; ++i) {
    const std::uint64_t offset = kSnapshotHeader + at;
    const std::string entry = "entry " + std::to_string(i);
    if (body.size() - at < kEntryOverhead) return Damage{offset, entry + " is cut short"};
    const std::size_t name_len = GetU32(body, at);
    if (name_len == 0 || name_len > body.size() - at - kEntryOverhead) {
      return Damage{offset, entry + " has an impossible name length"};
    }
    std::string name(body.substr(at + 4, name_len));
    const auto value = static_cast<std::int64_t>(GetU64(body, at + 4 + name_len));
    if (!values->emplace(std::move(name), value).second) {
      return Damage{offset, entry + " repeats a name"};
    }
    at += kEntryOverhead + name_len;
  }
  if (at != body.size()) return Damage{kSnapshotHeader + at, "bytes after the last entry"};
  return std::nullopt;
}

// --- Files --------------------------------------------------------------------------------------

// One line on stderr, which the node passes on to the controller's. Each starts "dictionary".
void Log(const std::string& line) {
  std::fprintf(stderr, "%s\n", line.c_str());
}

std::string ErrnoText(int e) {
  return std::error_code(e, std::generic_category()).message();
}

std::string IoError(std::string_view what, const std::string& path, int e) {
  return std::string(what) + " " + path + ": " + ErrnoText(e);
}

// A file descriptor closed when it goes out of scope, so that no early return leaks one.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }

 private:
  int fd_;
};

// write(2) until all of `data` is written. Returns 0 or an errno value; on an error, part of
// `data` may have been written.
int WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno;
    if (n == 0) return EIO;  // cannot happen for a regular file; never spin
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return 0;
}

int FsyncPath(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0 || ::fsync(fd.get()) != 0) return errno;
  return 0;
}

// Creates `dir` and its missing parents with mode 0700 (a node's data is nobody else's
// business), and fsyncs the parent of each directory it creates: a new directory entry is only
// durable once its parent is synced, and losing the directory would lose the files in it.
arbor::Status MakeDirs(const std::string& dir) {
  for (std::size_t end = dir.find('/', 1);; end = dir.find('/', end + 1)) {
    const std::string prefix = dir.substr(0, end);
    if (::mkdir(prefix.c_str(), 0700) == 0) {
      const std::size_t slash = prefix.find_last_of('/');
      const std::string parent = slash == std::string::npos ? "."
                                 : slash == 0               ? "/"
                                                            : prefix.substr(0, slash);
      if (int e = FsyncPath(parent); e != 0)
        return arbor::Internal(IoError("cannot sync", parent, e));
    } else if (errno != EEXIST) {
      return arbor::Internal(IoError("cannot create directory", prefix, errno));
    }
    if (end == std::string::npos) return arbor::Status::Ok();
  }
}

// The whole content of `path`, or nullopt when there is no such file.
arbor::Result<std::optional<std::string>> ReadFile(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return arbor::Internal(IoError("cannot open", path, errno));
  }
  std::string data;
  std::array<char, 1 << 16> chunk;
  for (;;) {
    ssize_t n = ::read(fd.get(), chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return arbor::Internal(IoError("cannot read", path, errno));
    if (n == 0) return std::optional<std::string>(std::move(data));
    data.append(chunk.data(), static_cast<std::size_t>(n));
  }
}

std::string CorruptMessage(const char* what, const std::string& path, const Damage& d,
                           const std::string& advice) {
  return std::string("dictionary ") + what + " " + path + " is corrupt at byte " +
         std::to_string(d.offset) + " (" + d.why + "); nothing was loaded; " + advice;
}

}  // namespace

// --- Journal ------------------------------------------------------------------------------------

Journal::Journal(std::string dir, Durability durability, std::uint64_t compact_every)
    : dir_(std::move(dir)),
      journal_path_(dir_ + "/journal"),
      snapshot_path_(dir_ + "/snapshot"),
      tmp_path_(dir_ + "/snapshot.tmp"),
      durability_(durability),
      compact_every_(compact_every),
      next_compaction_(compact_every) {}

Journal::~Journal() {
  if (journal_fd_ >= 0) ::close(journal_fd_);
  if (dir_fd_ >= 0) ::close(dir_fd_);  // and with it the lock
}

arbor::Result<std::unique_ptr<Journal>> Journal::Open(const std::string& dir, Durability durability,
                                                      std::uint64_t compact_every, Map* values) {
  values->clear();
  std::unique_ptr<Journal> j(new Journal(dir, durability, compact_every));
  if (arbor::Status s = MakeDirs(dir); !s.ok()) return s;
  j->dir_fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (j->dir_fd_ < 0) return arbor::Internal(IoError("cannot open directory", dir, errno));
  // Two processes appending to one journal would interleave their records (two nodes given the
  // same data_dir and id, say). The lock dies with the process, so kill -9 never leaves it held.
  if (::flock(j->dir_fd_, LOCK_EX | LOCK_NB) != 0) {
    if (errno == EWOULDBLOCK) {
      return arbor::FailedPrecondition("dictionary data dir " + dir +
                                       " is in use by another process or instance");
    }
    return arbor::Internal(IoError("cannot lock", dir, errno));
  }

  // Load into a scratch map: on damage, nothing at all is loaded. Half a dictionary would look
  // healthy and answer wrong values.
  Map loaded;
  arbor::Result<std::optional<std::string>> snapshot = ReadFile(j->snapshot_path_);
  if (!snapshot.ok()) return snapshot.status();
  if (snapshot->has_value()) {
    if (std::optional<Damage> d = LoadSnapshot(**snapshot, &loaded)) {
      std::lock_guard lock(j->mu_);
      j->Fail(CorruptMessage("snapshot", j->snapshot_path_, *d,
                             "move it and the journal beside it aside to start empty"));
      return j;
    }
  }
  arbor::Result<std::optional<std::string>> journal = ReadFile(j->journal_path_);
  if (!journal.ok()) return journal.status();
  Replay replay;
  if (journal->has_value()) replay = ReplayJournal(**journal, &loaded);
  if (replay.corrupt) {
    std::lock_guard lock(j->mu_);
    j->Fail(CorruptMessage("journal", j->journal_path_, *replay.corrupt,
                           snapshot->has_value() ? "move it aside to start from the snapshot alone"
                                                 : "move it aside to start empty"));
    return j;
  }

  // Healthy: from here on the files may be written.
  // O_APPEND: every write lands at the end, whatever happened to the file offset.
  j->journal_fd_ =
      ::open(j->journal_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (j->journal_fd_ < 0) return arbor::Internal(IoError("cannot open", j->journal_path_, errno));
  if (replay.torn) {
    // That record was being written when the node died, so its set was never acknowledged.
    // Cut it off, so that the next record follows valid data instead of garbage.
    Log("dictionary journal " + j->journal_path_ + ": dropped a torn last record at byte " +
        std::to_string(replay.torn->offset) + " (" + replay.torn->why + ")");
    if (::ftruncate(j->journal_fd_, static_cast<off_t>(replay.good_bytes)) != 0 ||
        ::fsync(j->journal_fd_) != 0) {
      return arbor::Internal(IoError("cannot cut the torn record off", j->journal_path_, errno));
    }
  }
  // The journal may have just been created. Its directory entry is durable only once the
  // directory is synced; without that, an OS crash could lose the file and all synced in it.
  if (::fsync(j->dir_fd_) != 0) return arbor::Internal(IoError("cannot sync", dir, errno));
  // A compaction that died before its rename leaves snapshot.tmp; it holds nothing needed.
  if (::unlink(j->tmp_path_.c_str()) != 0 && errno != ENOENT) {
    Log("dictionary: " + IoError("cannot remove", j->tmp_path_, errno));
  }
  j->size_ = replay.good_bytes;
  j->records_ = replay.records;
  *values = std::move(loaded);
  return j;
}

void Journal::Fail(std::string why) {
  if (failed_.load(std::memory_order_relaxed)) return;
  failure_ = std::move(why);
  failed_.store(true, std::memory_order_release);  // publishes failure_
  Log(failure_);
}

arbor::Status Journal::Failure() const {
  return arbor::FailedPrecondition(failure_);
}

arbor::Status Journal::Health() const {
  if (!failed_.load(std::memory_order_acquire)) return arbor::Status::Ok();
  return Failure();
}

arbor::Status Journal::Append(std::string_view name, std::int64_t value) {
  if (name.empty() || name.size() > kMaxNameBytes) {
    return arbor::InvalidArgument("a name of " + std::to_string(name.size()) +
                                  " bytes cannot be journaled");
  }
  const std::string record = EncodeRecord(name, value);  // outside the lock
  std::lock_guard lock(mu_);
  if (failed_.load(std::memory_order_relaxed)) return Failure();
  if (int e = WriteAll(journal_fd_, record); e != 0) {
    // The write may have stopped part-way and left half a record at the end. Cut it off, or the
    // next record would follow garbage and the next load would find corruption in the middle.
    if (::ftruncate(journal_fd_, static_cast<off_t>(size_)) != 0) {
      Fail("dictionary journal " + journal_path_ + " may end in a partial record after a " +
           "failed write (" + ErrnoText(e) + ") that could not be cut off; restart the node, " +
           "loading drops it");
      return Failure();
    }
    return arbor::Internal("dictionary journal " + journal_path_ + ": cannot append (" +
                           ErrnoText(e) + "); the value was not set");
  }
  size_ += record.size();
  ++records_;
  unsynced_ = true;
  return arbor::Status::Ok();
}

arbor::Status Journal::Sync() {
  // mu_ is held across fdatasync, so appends wait for it. That keeps the rule that makes group
  // commit correct simple: unsynced_ is cleared only by an fdatasync that started after every
  // append before it. A caller whose Append returned before it called Sync therefore either
  // finds unsynced_ set and syncs, or finds it clear because a later sync covered its record.
  std::lock_guard lock(mu_);
  if (failed_.load(std::memory_order_relaxed)) return Failure();
  if (durability_ != Durability::kFsync || !unsynced_) return arbor::Status::Ok();
  if (::fdatasync(journal_fd_) != 0) {
    // After a failed fsync the kernel may have dropped the dirty pages: retrying could report
    // success for data that is gone. Refuse everything from now on instead.
    Fail("dictionary journal " + journal_path_ + ": fdatasync failed (" + ErrnoText(errno) +
         "); recent sets may not be on disk, so nothing more is accepted; restart the node to " +
         "reload what is");
    return Failure();
  }
  unsynced_ = false;
  return arbor::Status::Ok();
}

bool Journal::CompactionDue() const {
  std::lock_guard lock(mu_);
  return !failed_.load(std::memory_order_relaxed) && records_ >= next_compaction_;
}

void Journal::Compact(const Map& values) {
  std::lock_guard lock(mu_);
  if (failed_.load(std::memory_order_relaxed) || records_ < next_compaction_) return;
  // 1. Until the rename inside WriteSnapshot, the old snapshot and the whole journal are on
  //    disk untouched: a crash loses nothing. After it, the new snapshot holds every record of
  //    the journal too, so replaying the journal over it is harmless (journal.h).
  if (arbor::Status s = WriteSnapshot(values); !s.ok()) {
    Log("dictionary: compaction failed, retrying later; the journal keeps every set: " +
        s.message());
    next_compaction_ = records_ + compact_every_;
    return;
  }
  // 2. The snapshot is durable and holds everything: the journal can be emptied.
  if (::ftruncate(journal_fd_, 0) != 0) {
    Log("dictionary: " + IoError("compaction cannot empty", journal_path_, errno) +
        "; retrying later");
    next_compaction_ = records_ + compact_every_;
    return;
  }
  // 3. Make the empty journal durable before a new record goes in. Otherwise an OS crash could
  //    keep the old length with new records written over its start, and the old records after
  //    them would replay last and bring back old values.
  if (::fsync(journal_fd_) != 0) {
    Fail("dictionary journal " + journal_path_ + ": fsync after compaction failed (" +
         ErrnoText(errno) + "); nothing more is accepted; restart the node to reload");
    return;
  }
  size_ = 0;
  records_ = 0;
  unsynced_ = false;  // whatever was unsynced is in the snapshot, which is synced
  next_compaction_ = compact_every_;
}

arbor::Status Journal::WriteSnapshot(const Map& values) {
  Fd fd(::open(tmp_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (fd.get() < 0) return arbor::Internal(IoError("cannot create", tmp_path_, errno));
  auto fail = [this](const char* what, int e) {
    ::unlink(tmp_path_.c_str());
    return arbor::Internal(IoError(what, tmp_path_, e));
  };
  // The header holds the body's length and checksum, known only at the end: write zeros in its
  // place now and the real header last. A crash in between leaves only snapshot.tmp.
  std::string buffer(kSnapshotHeader, '\0');
  std::uint64_t body_len = 0;
  std::uint32_t crc = 0;
  for (const auto& [name, value] : values) {
    const std::size_t from = buffer.size();
    PutEntry(buffer, name, value);
    const std::string_view entry = std::string_view(buffer).substr(from);
    crc = Crc32(entry, crc);
    body_len += entry.size();
    if (buffer.size() >= kWriteChunk) {
      if (int e = WriteAll(fd.get(), buffer); e != 0) return fail("cannot write", e);
      buffer.clear();
    }
  }
  if (int e = WriteAll(fd.get(), buffer); e != 0) return fail("cannot write", e);
  const std::string header = SnapshotHeader(values.size(), body_len, crc);
  ssize_t n = ::pwrite(fd.get(), header.data(), header.size(), 0);
  if (n != static_cast<ssize_t>(header.size())) return fail("cannot write", n < 0 ? errno : EIO);
  // The data must be on disk before the rename publishes it, or a crash could leave a
  // `snapshot` that names garbage, with the journal already emptied.
  if (::fsync(fd.get()) != 0) return fail("cannot sync", errno);
  // rename(2) replaces `snapshot` atomically: a crash leaves the old one or the new one.
  if (::rename(tmp_path_.c_str(), snapshot_path_.c_str()) != 0) return fail("cannot rename", errno);
  // The rename itself is durable only once the directory is synced. Until then the journal
  // must stay: on an error here it does (the caller does not empty it).
  if (::fsync(dir_fd_) != 0) return arbor::Internal(IoError("cannot sync", dir_, errno));
  return arbor::Status::Ok();
}

}  // namespace dictionary
