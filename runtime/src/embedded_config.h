// The text of configs/default.yaml, compiled in so that `arbor` runs with no files around it.
#pragma once

namespace arbor {
extern const char* const kEmbeddedDefaultConfig;
}
