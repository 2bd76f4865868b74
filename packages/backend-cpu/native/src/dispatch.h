// The cpu addon's kernel entry points by code (core's KERNEL_ENTRY_POINTS, EntryOp in the generated
// kindling_ops.h): each decodes its packed block (args.h) and runs its kernel. dispatch.cc lists the
// block layouts.
#pragma once

#include <napi.h>

#include "args.h"

namespace kd {

using Entry = Napi::Value (*)(Napi::Env env, Args& args);

// The entry point for a code, or nullptr when this addon has no kernel for it.
Entry entry_for(int op);

}  // namespace kd
