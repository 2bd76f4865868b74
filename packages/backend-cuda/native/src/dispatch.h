// The cuda addon's kernel entry points by code (core's KERNEL_ENTRY_POINTS, EntryOp in the
// generated kindling_ops.h): run_op decodes the packed block (args.h) and launches the kernels on
// the context's stream. dispatch.cc lists the block layouts.
#pragma once

#include "args.h"
#include "context.h"

namespace kc {

void run_op(Context& c, int op, Args& a);

}  // namespace kc
