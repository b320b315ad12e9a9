// The dictionary's durable store: a journal of sets plus a snapshot, in the node's data_dir.
//
// This is the second half of the tutorial (read dictionary.cc first). It shows how a plugin keeps
// state across a crash of its node with nothing but POSIX files, and why each step is there.
//
// Why a journal: a set must be durable before it is acknowledged, and rewriting the whole map on
// every set would cost O(map) per set. Appending one small record costs O(1). The journal would
// grow forever, so every `compact_every` records a compaction writes the whole map once, as a
// snapshot, and empties the journal. Loading replays the snapshot, then the journal: a record
// overwrites a name, so a record that the snapshot already holds is replayed harmlessly (its
// value is the one the snapshot has, or one that a later record overwrites anyway).
//
// Files in the directory:
//   journal        every set since the last compaction, in the order they were applied
//   snapshot       the whole map as of the last compaction; absent before the first one
//   snapshot.tmp   a compaction that did not finish; never read, removed at load
//
// Formats (every integer little-endian, so a file moves between machines):
//   entry          u32 name_len | name bytes | i64 value          (name_len >= 1)
//   journal        records back to back, no file header:
//                    u32 payload_len | u32 crc32(payload) | payload = one entry
//   snapshot       a 36-byte header, then the body:
//                    "arbordic" | u32 version (1) | u64 entry count | u64 body_len
//                    | u32 crc32(body) | u32 crc32(the 32 header bytes before it)
//                    body = entry count entries
// crc32 is the common one (zlib's, polynomial 0xEDB88320).
//
// What loading does with damage:
//   - The journal ends inside a record, or its last record is bad, the damage is no longer than
//     the largest record a set writes, and nothing valid follows: a write torn by a crash. That
//     record was never acknowledged (it was still being written), so it is dropped, logged on
//     stderr, and the journal is cut back to the last good record, so new records follow valid
//     data.
//   - Anything else: damage longer than one record, a bad record with a valid record after it,
//     or any damage in the snapshot. That is corruption, not a torn write, and it may have
//     eaten acknowledged sets. Nothing is
//     loaded, the Journal comes back failed (see Health), and it never writes to the files, so a
//     human can look at them: nothing more is lost.
//
// Thread-safety: every method may be called concurrently from any thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "arbor/result.h"
#include "arbor/status.h"

namespace dictionary {

using Map = std::unordered_map<std::string, std::int64_t>;

// The `durability` option. kNone has no Journal at all; the others differ in Sync().
enum class Durability {
  kNone,   // memory only: a node that dies loses its data
  kFlush,  // write(2) before a set returns: survives kill -9 of the node, not an OS crash
  kFsync,  // and fdatasync before the reply: survives an OS crash or power loss too
};

class Journal {
 public:
  // Opens the store in `dir` (created with its parents, mode 0700), loads the snapshot and
  // replays the journal into *values. An error means the directory cannot be used at all: it
  // cannot be created or read, or another process has it open. A corrupt file is not an error
  // here: the Journal comes back failed, with *values empty.
  static arbor::Result<std::unique_ptr<Journal>> Open(const std::string& dir, Durability durability,
                                                      std::uint64_t compact_every, Map* values);
  ~Journal();
  Journal(const Journal&) = delete;
  Journal& operator=(const Journal&) = delete;

  // OK, or the error every call must answer: the files are corrupt, or a write or sync failed
  // in a way that leaves the disk uncertain. A failed Journal never touches its files again.
  arbor::Status Health() const;

  // Writes one record with write(2). On an error the record is not in the journal (a partial
  // write is cut off again) and the caller must not apply the set.
  arbor::Status Append(std::string_view name, std::int64_t value);

  // kFsync: fdatasync the journal if anything was appended since the last sync. Whoever calls
  // this after an Append returned knows that record is on disk when Sync returns OK, even if a
  // concurrent Sync did the work. kFlush: nothing to do.
  arbor::Status Sync();

  // True when the journal holds `compact_every` records or more.
  bool CompactionDue() const;

  // Writes `values` as the new snapshot and empties the journal. `values` must be exactly what
  // replaying the files gives, so no Append may run concurrently: the caller serializes them.
  // A failure is logged and retried `compact_every` records later; the journal still holds
  // everything, so no set is lost and none needs to fail.
  void Compact(const Map& values);

 private:
  Journal(std::string dir, Durability durability, std::uint64_t compact_every);

  // Enters the failed state for good (the first reason wins). Requires mu_.
  void Fail(std::string why);
  arbor::Status Failure() const;
  arbor::Status WriteSnapshot(const Map& values);  // snapshot.tmp, fsync, rename, fsync dir

  const std::string dir_;
  const std::string journal_path_;
  const std::string snapshot_path_;
  const std::string tmp_path_;
  const Durability durability_;
  const std::uint64_t compact_every_;

  int dir_fd_ = -1;      // locked with flock for the Journal's life; fsynced after renames
  int journal_fd_ = -1;  // O_APPEND; -1 when loading failed

  mutable std::mutex mu_;              // guards everything below and every write to the files
  std::uint64_t size_ = 0;             // bytes of whole records in the journal
  std::uint64_t records_ = 0;          // records in the journal
  std::uint64_t next_compaction_ = 0;  // compact when records_ reaches this
  bool unsynced_ = false;              // appended since the last fdatasync

  // Set once, under mu_, after failure_ is written; failure_ never changes afterwards, so a
  // reader that sees failed_ true may read failure_ without the lock (Health stays lock-free).
  std::atomic<bool> failed_{false};
  std::string failure_;
};

}  // namespace dictionary
//
// Loading is linear in the file's size: records are checked in one pass, and the search for a
// valid record after damage is confined to the last record's length and a fixed checksum budget.
