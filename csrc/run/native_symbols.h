/*
 * native_symbols.h - names for the native frames of a captured call tree.
 *
 * Owns: symbolisation after the fact: from a return address to function,
 * source file and line (where debug information exists) and the library;
 * a cache of what was named, for the next checkpoint.
 * Must never: run inside a hook or under the recorder lock (it reads ELF
 * and DWARF files and allocates), or run without the writes' mutex (the
 * cache is not locked otherwise).
 */
#ifndef HM_NATIVE_SYMBOLS_H
#define HM_NATIVE_SYMBOLS_H

#include "run/capture.h"

/* Fills function, file, first_line and library of every native code
 * descriptor of the capture.  A frame that cannot be named is called
 * "LIBRARY+0xOFFSET" (or "0xADDRESS" outside any object). */
void hm_native_symbolize(hm_capture *c);

#endif
