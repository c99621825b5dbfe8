// C++ allocation for hmnative: operator new[] and delete[] (libstdc++ reaches malloc).
#include <cstddef>

extern "C" void *hm_cxx_new(std::size_t n) { return new char[n]; }
extern "C" void hm_cxx_delete(void *p) { delete[] static_cast<char *>(p); }
