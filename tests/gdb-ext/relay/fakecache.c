/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A program with the one function of libdusk that dusk-gdb's relay calls,
 * dusk_dbg_shadow(), over a fake cache: "kernel" addresses from
 * FAKE_KERNEL map onto a buffer, one page of them is unmapped (a nofault
 * error), and every call is counted and its flags kept, so that a test
 * can see what the relay asked. The program stops at fake_stop() and then
 * writes the buffer from "module" code, for watchpoints.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define FAKE_KERNEL	0xffff888000000000ULL
#define FAKE_PAGES	4
#define FAKE_HOLE	2		/* a page that is not mapped */
#define DBG_WRITE	1

unsigned char fake_mirror[FAKE_PAGES * 4096] __attribute__((aligned(4096)));
unsigned int fake_calls, fake_write_calls;
volatile int fake_go;

void *dusk_dbg_shadow(uint64_t kaddr, size_t len, unsigned int flags)
{
	uint64_t off = kaddr - FAKE_KERNEL;

	fake_calls++;
	if (kaddr < FAKE_KERNEL || off + len > sizeof(fake_mirror) ||
	    off / 4096 == FAKE_HOLE || (off + len - 1) / 4096 == FAKE_HOLE)
		return NULL;
	if (flags & DBG_WRITE)
		fake_write_calls++;
	return fake_mirror + off;
}

struct fake_skb {
	unsigned int len;
	unsigned int mark;
	unsigned char data[16];
};

void fake_stop(struct fake_skb *skb)
{
	printf("fake_stop %p\n", (void *)skb);
	fflush(stdout);
}

/* The module's store, through the mirror as a checked store is. */
void fake_module_store(unsigned int mark)
{
	struct fake_skb *mirror = (struct fake_skb *)fake_mirror;

	mirror->mark = mark;
}

int main(int argc, char **argv)
{
	struct fake_skb *mirror = (struct fake_skb *)fake_mirror;

	setvbuf(stdout, NULL, _IOLBF, 0);	/* a test reads it line by line */
	mirror->len = 33;
	memcpy(mirror->data, "\x45\x00\x00\x21", 4);
	fake_stop((struct fake_skb *)FAKE_KERNEL);
	fake_module_store(9);
	printf("mark %u calls %u writes %u\n", mirror->mark, fake_calls,
	       fake_write_calls);
	if (argc > 1)		/* for attach: wait to be attached */
		while (!fake_go)
			usleep(10000);
	fake_module_store(11);
	printf("end mark %u\n", mirror->mark);
	return 0;
}
