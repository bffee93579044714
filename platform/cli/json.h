// The CLI's JSON output uses the shared writer in core/json.h.
#pragma once

#include "core/json.h"
