/*
 * native_unwind.h - setting up --native: the unwinder and the code ranges
 * the hot path's filter needs (hotpath/native_stack.h).
 *
 * Owns: loading libunwind, privately, and which code is heapmark's own and
 * which is the interpreter's.
 * Must never: put libunwind in the program's global scope: it defines
 * _Unwind_RaiseException and the rest of the C++ exception ABI, which the
 * program's C++ code must go on taking from libgcc_s.
 */
#ifndef HM_NATIVE_UNWIND_H
#define HM_NATIVE_UNWIND_H

#include "common/common.h"

/* At start-up, before recording: false with err filled when the unwinder
 * cannot be loaded. */
bool hm_native_unwind_start(char *err, size_t errlen);

#endif
