// Force-included into prebuilt binaries (CMake option INFONCE_PORTABLE_BINARY): binds the few
// symbols that newer glibc and libstdc++ re-versioned to their oldest versions, which every newer
// library still exports. Without it a prebuild made on Debian 12 would need glibc 2.34 (dlopen moved
// into libc) and libstdc++ from GCC 12 (condition_variable::wait); with it, glibc 2.17 and GCC 6.
#pragma once

#if defined(__x86_64__) && defined(__linux__)
__asm__(".symver dlopen,dlopen@GLIBC_2.2.5");
__asm__(".symver dlsym,dlsym@GLIBC_2.2.5");
__asm__(".symver dlerror,dlerror@GLIBC_2.2.5");
__asm__(".symver dladdr,dladdr@GLIBC_2.2.5");
__asm__(".symver exp,exp@GLIBC_2.2.5");
__asm__(".symver log,log@GLIBC_2.2.5");
__asm__(".symver _ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE,"
        "_ZNSt18condition_variable4waitERSt11unique_lockISt5mutexE@GLIBCXX_3.4.11");
__asm__(".symver expf,expf@GLIBC_2.2.5");
__asm__(".symver pow,pow@GLIBC_2.2.5");
#endif
