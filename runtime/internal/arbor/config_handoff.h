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
#include <string_view>

#include "arbor/config.h"
#include "arbor/result.h"

namespace arbor {

std::string EncodeConfig(const Config& config);
// InvalidArgument for anything that is not a whole encoding of this build's Config.
Result<Config> DecodeConfig(std::span<const std::uint8_t> bytes);

// The same bytes as text ([0-9a-f]), for an ssh command line: a node on another host cannot
// inherit a descriptor. Holds paths, never key material (see TlsFiles).
std::string ConfigToHex(const Config& config);
Result<Config> ConfigFromHex(std::string_view hex);

// A digest of what the config says, whatever file it was read from: an `external` node, which
// reads the deployment file on its own host, must run the config its parent runs.
std::string ConfigDigest(const Config& config);

// A new close-on-exec, sealed (read-only) memfd holding EncodeConfig(config).
Result<int> ConfigToFd(const Config& config);
// Reads and decodes a descriptor made by ConfigToFd(); leaves it open.
Result<Config> ConfigFromFd(int fd);

}  // namespace arbor
