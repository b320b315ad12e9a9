// Store: the dictionary's map of names to 64-bit integers, in memory or durable.
//
// The plugin (dictionary.cc) validates a call and asks the Store; everything about keeping
// values across a crash lives here and in journal.h, so the tutorial stays short.
//
// Options, from the plugin's `options:` map in the deployment YAML:
//
//   durability: none    the default: memory only, a node that dies loses its data
//   durability: flush   every set is written to a journal before it is acknowledged:
//                       survives kill -9 of the node, not a crash of the machine
//   durability: fsync   and the journal is fdatasync'ed before the reply goes out: survives a
//                       crash of the machine too. One fdatasync per request, not per set
//   compact_every: N    after N journal records, write the whole map as a snapshot and empty
//                       the journal (default 10000), so that the journal stays short
//   max_keys: N         refuse a set of a new name beyond N names (default 1000000)
//   max_bytes: N        refuse a set of a new name once the names and values would take more
//                       than about N bytes of memory (default 268435456, 256 MiB), counting
//                       kEntryOverhead per name for the map's own bookkeeping
//
// The caps keep a client from filling a node's memory. A set over a cap answers
// "dictionary full (...)"; overwriting an existing name is always allowed, and nothing already
// stored is touched. A store loaded from files holding more than the caps keeps everything it
// loaded and refuses new names.
//
// A durable store keeps its files in the node's data_dir (journal.h has the files and the crash
// rules). Thread-safety: every method may be called concurrently.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>

#include "arbor/plugin.h"
#include "journal.h"

namespace dictionary {

class Store {
 public:
  // What one name costs beyond its bytes: the hash node, the string and the value, roughly.
  static constexpr std::uint64_t kEntryOverhead = 64;

  // Parses the options and, for a durable store, loads what the node wrote before it last
  // stopped. Corrupt files do not fail here: the store opens and Health() says what is wrong.
  static arbor::Result<std::unique_ptr<Store>> Open(const arbor::PluginContext& context);

  // OK, or why no call can be answered: the files were found corrupt, or a write failed in a
  // way that leaves the disk uncertain.
  arbor::Status Health() const;

  std::optional<std::int64_t> Get(const std::string& name) const;
  // When this returns OK, the value is applied and, unless durability is none, in the journal.
  // A new name over max_keys or max_bytes is refused with "dictionary full (...)".
  arbor::Status Set(const std::string& name, std::int64_t value);
  // With durability fsync: the journal reaches the disk. Called once per request.
  arbor::Status Sync();
  // True when Set touches the disk.
  bool Durable() const { return journal_ != nullptr; }

 private:
  Store() = default;
  // Refuses `name` if it is new and would break a cap. Requires mu_ (shared is enough).
  arbor::Status CheckRoom(const std::string& name) const;
  void Count(const std::string& name);  // after inserting a new name; requires mu_ exclusive

  std::uint64_t max_keys_ = 0;
  std::uint64_t max_bytes_ = 0;
  std::uint64_t bytes_ = 0;  // the names' cost, as CheckRoom counts it; guarded by mu_
  std::unique_ptr<Journal> journal_;  // null with durability none
  std::mutex write_mu_;               // durable sets, one at a time
  mutable std::shared_mutex mu_;      // guards values_
  Map values_;
};

}  // namespace dictionary
