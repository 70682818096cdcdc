#ifndef STAMPEDE_CLZ4_SHIM_H
#define STAMPEDE_CLZ4_SHIM_H
#include <lz4.h>
#endif
