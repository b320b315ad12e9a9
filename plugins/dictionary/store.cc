#include "store.h"

#include <charconv>
#include <map>

namespace dictionary {
namespace {

struct Options {
  Durability durability = Durability::kNone;
  std::uint64_t compact_every = 10000;
  std::uint64_t max_keys = 1000000;
  std::uint64_t max_bytes = std::uint64_t{256} << 20;
};

// A positive integer option, or the error naming it.
arbor::Status ParseCount(const std::string& key, const std::string& value, std::uint64_t* out) {
  std::uint64_t n = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
  if (ec != std::errc() || end != value.data() + value.size() || n == 0) {
    return arbor::InvalidArgument("option '" + key + "' of the dictionary is a positive " +
                                  ("integer, not '" + value + "'"));
  }
  *out = n;
  return arbor::Status::Ok();
}

const char* Name(Durability d) {
  switch (d) {
    case Durability::kNone:
      return "none";
    case Durability::kFlush:
      return "flush";
    case Durability::kFsync:
      return "fsync";
  }
  return "?";
}

// Rejects what it does not understand, so that a typo in a deployment is an error and not a
// silent default.
arbor::Result<Options> ParseOptions(const std::map<std::string, std::string>& options) {
  Options parsed;
  for (const auto& [key, value] : options) {
    if (key == "durability") {
      if (value == "none") {
        parsed.durability = Durability::kNone;
      } else if (value == "flush") {
        parsed.durability = Durability::kFlush;
      } else if (value == "fsync") {
        parsed.durability = Durability::kFsync;
      } else {
        return arbor::InvalidArgument("option 'durability' of the dictionary is none, flush or " +
                                      ("fsync, not '" + value + "'"));
      }
    } else if (key == "compact_every" || key == "max_keys" || key == "max_bytes") {
      std::uint64_t* field = key == "compact_every" ? &parsed.compact_every
                             : key == "max_keys"    ? &parsed.max_keys
                                                    : &parsed.max_bytes;
      if (arbor::Status s = ParseCount(key, value, field); !s.ok()) return s;
    } else {
      return arbor::InvalidArgument("unknown option '" + key +
                                    "' (the dictionary takes durability, compact_every, max_keys and max_bytes)");
    }
  }
  return parsed;
}

}  // namespace

arbor::Result<std::unique_ptr<Store>> Store::Open(const arbor::PluginContext& context) {
  arbor::Result<Options> options = ParseOptions(context.options);
  if (!options.ok()) return options.status();
  std::unique_ptr<Store> store(new Store());
  store->max_keys_ = options->max_keys;
  store->max_bytes_ = options->max_bytes;
  if (options->durability == Durability::kNone) return store;
  if (context.data_dir.empty()) {
    return arbor::InvalidArgument(std::string("durability '") + Name(options->durability) +
                                  "' needs a data_dir in the deployment config");
  }
  auto journal = Journal::Open(context.data_dir, options->durability, options->compact_every,
                               &store->values_);
  if (!journal.ok()) return journal.status();
  store->journal_ = std::move(journal).value();
  for (const auto& [name, value] : store->values_) store->bytes_ += kEntryOverhead + name.size();
  return store;
}

arbor::Status Store::Health() const {
  // A journal found corrupt at load fails reads too: an empty map would answer "not found" for
  // values that exist on disk.
  return journal_ != nullptr ? journal_->Health() : arbor::Status::Ok();
}

std::optional<std::int64_t> Store::Get(const std::string& name) const {
  std::shared_lock lock(mu_);  // readers share; writers are exclusive
  auto it = values_.find(name);
  if (it == values_.end()) return std::nullopt;
  return it->second;
}

arbor::Status Store::CheckRoom(const std::string& name) const {
  if (values_.count(name) != 0) return arbor::Status::Ok();  // an overwrite takes no more room
  if (values_.size() >= max_keys_) {
    return arbor::FailedPrecondition("dictionary full (" + std::to_string(values_.size()) +
                                     " keys)");
  }
  if (bytes_ + kEntryOverhead + name.size() > max_bytes_) {
    return arbor::FailedPrecondition("dictionary full (" + std::to_string(values_.size()) +
                                     " keys, max_bytes " + std::to_string(max_bytes_) + ")");
  }
  return arbor::Status::Ok();
}

void Store::Count(const std::string& name) { bytes_ += kEntryOverhead + name.size(); }

arbor::Status Store::Set(const std::string& name, std::int64_t value) {
  if (journal_ == nullptr) {
    std::unique_lock lock(mu_);
    if (arbor::Status s = CheckRoom(name); !s.ok()) return s;
    auto [it, inserted] = values_.insert_or_assign(name, value);
    if (inserted) Count(name);
    return arbor::Status::Ok();
  }
  // One durable set at a time, so that the journal's order is the order in which values_
  // changes: two sets of one name replay in the order they were applied. A mutex of its own,
  // not mu_, so that reads go on while a set writes its record or compacts.
  std::lock_guard writer(write_mu_);
  {
    // Sets are serialized by write_mu_, so the room checked here is still there below.
    std::shared_lock lock(mu_);
    if (arbor::Status s = CheckRoom(name); !s.ok()) return s;
  }
  // The journal first: a set that did not reach it must not be seen, nor acknowledged.
  if (arbor::Status s = journal_->Append(name, value); !s.ok()) return s;
  {
    std::unique_lock lock(mu_);
    auto [it, inserted] = values_.insert_or_assign(name, value);
    if (inserted) Count(name);
  }
  // Now and then the journal is folded into a snapshot. Sets are held off by write_mu_, so
  // values_ is exactly what the files replay to.
  if (journal_->CompactionDue()) {
    std::shared_lock lock(mu_);
    journal_->Compact(values_);
  }
  return arbor::Status::Ok();
}

arbor::Status Store::Sync() {
  return journal_ != nullptr ? journal_->Sync() : arbor::Status::Ok();
}

}  // namespace dictionary
