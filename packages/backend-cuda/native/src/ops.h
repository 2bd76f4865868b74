// Op codes, numbered as the TypeScript side sends them: both come from core's op table. The build
// generates kindling_ops.h from it (scripts/build-native.mjs, scripts/build-emulator.mjs).
#pragma once

#include "kindling_ops.h"
