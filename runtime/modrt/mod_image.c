// SPDX-License-Identifier: (GPL-2.0 OR MIT)
/*
 * The program's own image: what a user address is (code, read-only data,
 * data, the stack, a placeholder, the mirror), the extent of its data
 * objects (ELF symbol table of /proc/self/exe, read once with libelf), its
 * functions' names, its .modinfo strings.
 *
 * Read-only is what the loader leaves read-only: segments without PF_W and
 * the PT_GNU_RELRO part of the writable one (const data with relocations,
 * such as a const struct holding function pointers). Such an object's
 * kernel copy never needs refreshing, and could not be refreshed.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <link.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "modrt.h"
#include "shadow_fast.h"
#include "util.h"

#define DUSK_IMAGE_MAX_SEGS	16

struct dusk_image_seg {
	uintptr_t lo, hi;
	enum dusk_mem_class cls;
};

struct dusk_image {
	int loaded;
	uintptr_t bias;
	struct dusk_image_seg seg[DUSK_IMAGE_MAX_SEGS];
	unsigned int nr_seg;
	uintptr_t relro_lo, relro_hi;
	uintptr_t lo, hi;		/* the whole image */
	struct dusk_msym *objs, *funcs;	/* by address */
	size_t nr_objs, nr_funcs;
	char *names;			/* the symbol string table */
	char *modinfo;
	size_t modinfo_len;
	uintptr_t percpu_lo, percpu_hi;	/* the module's .data..percpu */
};

static struct dusk_image dusk_img;

extern char __start_dusk_kdata[] __attribute__((weak));
extern char __stop_dusk_kdata[] __attribute__((weak));

static int dusk_image_phdr(struct dl_phdr_info *info, size_t size, void *data)
{
	struct dusk_image *img = data;
	uint16_t i;

	/* The first object is the program itself. */
	img->bias = info->dlpi_addr;
	img->lo = UINTPTR_MAX;
	for (i = 0; i < info->dlpi_phnum; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		uintptr_t lo = info->dlpi_addr + ph->p_vaddr;
		uintptr_t hi = lo + ph->p_memsz;

		if (ph->p_type == PT_GNU_RELRO) {
			img->relro_lo = lo;
			img->relro_hi = hi;
			continue;
		}
		if (ph->p_type != PT_LOAD || img->nr_seg == DUSK_IMAGE_MAX_SEGS)
			continue;
		img->seg[img->nr_seg].lo = lo;
		img->seg[img->nr_seg].hi = hi;
		img->seg[img->nr_seg].cls = ph->p_flags & PF_X ? DUSK_MEM_TEXT :
					    ph->p_flags & PF_W ? DUSK_MEM_RW :
								  DUSK_MEM_RO;
		img->nr_seg++;
		img->lo = DUSK_MIN(img->lo, lo);
		img->hi = DUSK_MAX(img->hi, hi);
	}
	return 1;	/* only the first */
}

static int dusk_msym_cmp(const void *a, const void *b)
{
	const struct dusk_msym *x = a, *y = b;

	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	/* The larger first: an enclosing object before what it holds. */
	return x->size > y->size ? -1 : x->size < y->size;
}

static int dusk_msym_push(struct dusk_msym **v, size_t *n, size_t *cap,
			  const struct dusk_msym *s)
{
	if (DUSK_GROW(*v, *cap, *n, 256))
		return -ENOMEM;
	(*v)[(*n)++] = *s;
	return 0;
}

/* .symtab and .modinfo of the program's file. */
static int dusk_image_elf(struct dusk_image *img)
{
	size_t shstrndx, cap_objs = 0, cap_funcs = 0;
	Elf_Scn *scn = NULL, *symscn = NULL;
	GElf_Shdr sh, symsh = { 0 };
	Elf_Data *d, *strd;
	Elf *elf;
	int fd, err = 0;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -ENOSYS;
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf || elf_getshdrstrndx(elf, &shstrndx)) {
		err = -ENOEXEC;
		goto out_fd;
	}
	while ((scn = elf_nextscn(elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh))
			continue;
		name = elf_strptr(elf, shstrndx, sh.sh_name);
		if (sh.sh_type == SHT_SYMTAB) {
			symscn = scn;
			symsh = sh;
		} else if (name && !strcmp(name, ".data..percpu") &&
			   sh.sh_size && (sh.sh_flags & SHF_ALLOC)) {
			img->percpu_lo = img->bias + sh.sh_addr;
			img->percpu_hi = img->percpu_lo + sh.sh_size;
		} else if (name && !strcmp(name, ".modinfo") &&
			   sh.sh_type == SHT_PROGBITS && !img->modinfo) {
			d = elf_getdata(scn, NULL);
			if (d && d->d_size && (img->modinfo = malloc(d->d_size))) {
				memcpy(img->modinfo, d->d_buf, d->d_size);
				img->modinfo_len = d->d_size;
			}
		}
	}
	if (!symscn) {
		dusk_dbg("the program has no symbol table (stripped?): global objects passed to the kernel need their size from type records");
		goto out_elf;
	}
	d = elf_getdata(symscn, NULL);
	strd = elf_getdata(elf_getscn(elf, symsh.sh_link), NULL);
	if (!d || !strd || !symsh.sh_entsize) {
		err = -ENOEXEC;
		goto out_elf;
	}
	img->names = malloc(strd->d_size + 1);
	if (!img->names) {
		err = -ENOMEM;
		goto out_elf;
	}
	memcpy(img->names, strd->d_buf, strd->d_size);
	img->names[strd->d_size] = '\0';
	for (size_t i = 0; i < symsh.sh_size / symsh.sh_entsize; i++) {
		struct dusk_msym ms;
		GElf_Sym sym;
		int type;

		if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF ||
		    sym.st_shndx >= SHN_LORESERVE || !sym.st_size ||
		    sym.st_name >= strd->d_size)
			continue;
		type = GELF_ST_TYPE(sym.st_info);
		if (type != STT_OBJECT && type != STT_FUNC)
			continue;
		ms.addr = img->bias + sym.st_value;
		ms.size = sym.st_size;
		ms.name = img->names + sym.st_name;
		err = type == STT_OBJECT ?
			dusk_msym_push(&img->objs, &img->nr_objs, &cap_objs, &ms) :
			dusk_msym_push(&img->funcs, &img->nr_funcs, &cap_funcs, &ms);
		if (err)
			goto out_elf;
	}
	qsort(img->objs, img->nr_objs, sizeof(*img->objs), dusk_msym_cmp);
	qsort(img->funcs, img->nr_funcs, sizeof(*img->funcs), dusk_msym_cmp);
out_elf:
	elf_end(elf);
out_fd:
	close(fd);
	return err;
}

static struct dusk_image *dusk_image_get(void)
{
	struct dusk_image *img = &dusk_img;
	int err;

	if (img->loaded)
		return img;
	img->loaded = 1;
	dl_iterate_phdr(dusk_image_phdr, img);
	err = dusk_image_elf(img);
	if (err)
		dusk_warn("reading the program's symbols: %s", strerror(-err));
	return img;
}

void dusk_image_reset(void)
{
	free(dusk_img.objs);
	free(dusk_img.funcs);
	free(dusk_img.names);
	free(dusk_img.modinfo);
	memset(&dusk_img, 0, sizeof(dusk_img));
}

/* The calling thread's stack, found once per thread. */
static __thread uintptr_t dusk_stack_lo, dusk_stack_hi;

int dusk_stack_bounds(uintptr_t *lo, uintptr_t *hi)
{
	pthread_attr_t attr;
	size_t size;
	void *addr;

	if (!dusk_stack_hi) {
		if (pthread_getattr_np(pthread_self(), &attr))
			return -ENOSYS;
		if (!pthread_attr_getstack(&attr, &addr, &size)) {
			dusk_stack_lo = (uintptr_t)addr;
			dusk_stack_hi = (uintptr_t)addr + size;
		}
		pthread_attr_destroy(&attr);
		if (!dusk_stack_hi)
			return -ENOSYS;
	}
	*lo = dusk_stack_lo;
	*hi = dusk_stack_hi;
	return 0;
}

enum dusk_mem_class dusk_mem_class(uintptr_t a)
{
	struct dusk_image *img;
	uintptr_t lo, hi;
	unsigned int i;

	if (a >= DUSK_KERNEL_MIN)
		return DUSK_MEM_KERNEL;
	/* A callback thread's stack may lie between two windows of the
	 * mirror (mmap puts it in a hole of their span). */
	if (!dusk_stack_bounds(&lo, &hi) && a >= lo && a < hi)
		return DUSK_MEM_STACK;
	if (a - __dusk_shadow.mirror_lo < __dusk_shadow.mirror_span)
		return DUSK_MEM_MIRROR;
	if (a >= (uintptr_t)__start_dusk_kdata && a < (uintptr_t)__stop_dusk_kdata)
		return DUSK_MEM_KDATA;
	img = dusk_image_get();
	if (a >= img->lo && a < img->hi) {
		if (a >= img->relro_lo && a < img->relro_hi)
			return DUSK_MEM_RO;
		for (i = 0; i < img->nr_seg; i++)
			if (a >= img->seg[i].lo && a < img->seg[i].hi)
				return img->seg[i].cls;
	}
	if (!dusk_stack_bounds(&lo, &hi) && a >= lo && a < hi)
		return DUSK_MEM_STACK;
	/* The brk heap starts above the image (at a random distance). */
	if (a >= img->hi && a < (uintptr_t)sbrk(0))
		return DUSK_MEM_HEAP;
	return DUSK_MEM_OTHER;
}

int dusk_mem_ours(uintptr_t addr)
{
	switch (dusk_mem_class(addr)) {
	case DUSK_MEM_TEXT:
	case DUSK_MEM_RO:
	case DUSK_MEM_RW:
	case DUSK_MEM_STACK:
	case DUSK_MEM_HEAP:
	case DUSK_MEM_KDATA:
	case DUSK_MEM_MIRROR:
		return 1;
	default:
		return 0;
	}
}

static const struct dusk_msym *dusk_msym_find(const struct dusk_msym *v,
					      size_t n, uintptr_t a)
{
	size_t lo = 0, hi = n, i, steps;

	/* The last symbol starting at or below a ... */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].addr <= a)
			lo = mid + 1;
		else
			hi = mid;
	}
	/* ... or one a little before it, if that one encloses a. */
	for (i = lo, steps = 0; i > 0 && steps < 16; i--, steps++)
		if (a - v[i - 1].addr < v[i - 1].size)
			return &v[i - 1];
	return NULL;
}

const struct dusk_msym *dusk_image_object(uintptr_t addr)
{
	struct dusk_image *img = dusk_image_get();

	return dusk_msym_find(img->objs, img->nr_objs, addr);
}

const struct dusk_msym *dusk_image_func(uintptr_t addr)
{
	struct dusk_image *img = dusk_image_get();

	return dusk_msym_find(img->funcs, img->nr_funcs, addr);
}

uintptr_t dusk_image_bias(void)
{
	return dusk_image_get()->bias;
}

/* dusk-cc renames the module objects' .data..percpu (dusk_module.h):
 * the linker would fold that name into .data. */
extern char __start_dusk_percpu[] __attribute__((weak));
extern char __stop_dusk_percpu[] __attribute__((weak));

int dusk_image_percpu(uintptr_t *lo, uintptr_t *hi)
{
	struct dusk_image *img;

	if (__start_dusk_percpu &&
	    (uintptr_t)__stop_dusk_percpu > (uintptr_t)__start_dusk_percpu) {
		*lo = (uintptr_t)__start_dusk_percpu;
		*hi = (uintptr_t)__stop_dusk_percpu;
		return 0;
	}
	img = dusk_image_get();	/* a link that kept the kernel's name */
	*lo = img->percpu_lo;
	*hi = img->percpu_hi;
	return img->percpu_hi > img->percpu_lo ? 0 : -ENOENT;
}

const char *dusk_image_modinfo(size_t *ret_len)
{
	struct dusk_image *img = dusk_image_get();

	*ret_len = img->modinfo_len;
	return img->modinfo;
}
