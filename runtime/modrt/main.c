// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * libdusk-main.a: the main() of a module program. dusk-cc links it before
 * libdusk.a; libdusk's own test programs, which have a main() of their
 * own, do not. It hands the module's symbols to __dusk_main() (modrt.h).
 *
 * The references are weak (a module without module_init, module_exit or
 * parameters is fine) and hidden: a weak reference of default visibility
 * to init_module would bind to glibc's init_module(2) wrapper when the
 * module has none.
 */
#include "modrt.h"

#define DUSK_MODULE_SYM __attribute__((weak, visibility("hidden")))

extern int init_module(void) DUSK_MODULE_SYM;
extern void cleanup_module(void) DUSK_MODULE_SYM;
extern char __start___param[] DUSK_MODULE_SYM;
extern char __stop___param[] DUSK_MODULE_SYM;

DUSK_EXPORT int main(int argc, char **argv)
{
	struct dusk_module_desc m = {
		.init = init_module,
		.exit = cleanup_module,
		.param_start = __start___param,
		.param_stop = __stop___param,
	};

	return __dusk_main(&m, argc, argv);
}
