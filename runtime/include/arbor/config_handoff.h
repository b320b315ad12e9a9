// Config handoff: how a node gets its deployment's config from whoever starts it.
//
// The controller reads and validates the YAML once. Every node then gets that same Config,
// encoded in a memfd it inherits as a descriptor (kConfigFd) and hands on, unchanged, to the
// nodes it starts. So:
//  - the tree runs one config: editing the file while a tree runs cannot give nodes started
//    later (or restarted) a different one from the rest;
//  - a node never parses YAML and does not load yaml-cpp, which keeps it smaller and its start
//    faster.
// The encoding is private to one build of arbor: parent and child are the same binary.
//
// Thread-safety: pure functions; the descriptor is only read with pread().
#pragma once

#include <cstdint>
#include <span>
#include <string>

#include "arbor/config.h"
#include "arbor/result.h"

namespace arbor {

std::string EncodeConfig(const Config& config);
// InvalidArgument for anything that is not a whole encoding of this build's Config.
Result<Config> DecodeConfig(std::span<const std::uint8_t> bytes);

// A new close-on-exec, sealed (read-only) memfd holding EncodeConfig(config).
Result<int> ConfigToFd(const Config& config);
// Reads and decodes a descriptor made by ConfigToFd(); leaves it open.
Result<Config> ConfigFromFd(int fd);

}  // namespace arbor
