// The launchers behind MakeHostLauncher(), one file each (launcher.h says what each does).
#pragma once

#include <memory>

#include "arbor/launcher.h"
#include "arbor/node_link.h"

namespace arbor {

// `link` is how the launching process dials (its own TLS files).
std::unique_ptr<Launcher> MakeExternalLauncher(const Config& config, LinkOptions link);

}  // namespace arbor
