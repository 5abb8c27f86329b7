// Linked into prebuilt binaries only (INFONCE_PORTABLE_BINARY), beside old_symbol_versions.h: local
// definitions of two symbols that GCC 12's inline library code refers to but that older runtimes do
// not have. Hidden, so that the binary resolves them itself and asks nothing of the user's libraries.
#include <new>

// glibc 2.32: set when the process has never started a thread, letting libstdc++ skip atomic
// reference counts. 0 here means "maybe threaded", the always-correct answer (atomics every time).
extern "C" {
__attribute__((visibility("hidden"))) char __libc_single_threaded = 0;
}

// libstdc++ 3.4.29 (GCC 11): what new T[n] calls when n·sizeof(T) overflows.
namespace std {
__attribute__((visibility("hidden"), noreturn)) void __throw_bad_array_new_length() { throw bad_array_new_length(); }
}  // namespace std
