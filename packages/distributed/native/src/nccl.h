// NCCL, opened at run time (dlopen): a build never needs NCCL's headers or library, and a host
// without it reports "nccl unavailable: <reason>".
#pragma once

#include <napi.h>

namespace kindling_nccl {

// Adds ncclProbe() → { available, version?, library?, reason? }, ncclUniqueId() and the NcclComm
// class (device pointers and streams as numbers) to the exports.
void Init(Napi::Env env, Napi::Object exports);

}  // namespace kindling_nccl
