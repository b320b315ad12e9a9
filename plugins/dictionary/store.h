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
  // Parses the options and, for a durable store, loads what the node wrote before it last
  // stopped. Corrupt files do not fail here: the store opens and Health() says what is wrong.
  static arbor::Result<std::unique_ptr<Store>> Open(const arbor::PluginContext& context);

  // OK, or why no call can be answered: the files were found corrupt, or a write failed in a
  // way that leaves the disk uncertain.
  arbor::Status Health() const;

  std::optional<std::int64_t> Get(const std::string& name) const;
  // When this returns OK, the value is applied and, unless durability is none, in the journal.
  arbor::Status Set(const std::string& name, std::int64_t value);
  // With durability fsync: the journal reaches the disk. Called once per request.
  arbor::Status Sync();
  // True when Set touches the disk.
  bool Durable() const { return journal_ != nullptr; }

 private:
  Store() = default;

  std::unique_ptr<Journal> journal_;  // null with durability none
  std::mutex write_mu_;               // durable sets, one at a time
  mutable std::shared_mutex mu_;      // guards values_
  Map values_;
};

}  // namespace dictionary
