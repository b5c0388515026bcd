// SPDX-License-Identifier: GPL-2.0
/*
 * dusk.ko - the kernel side of dusk: serves one authenticated user-level
 * module program over UDP (memory, calls, symbols, allocations, netfilter
 * proxies, and tables of file, procfs and seq_file operations whose calls
 * the calling task runs in the program). Generic: nothing in it knows the
 * module it serves.
 *
 *	insmod dusk.ko key=<64 hex digits> [port=7000] [addr=IPv4]
 *
 * The key is mandatory and never shown in sysfs.
 */
#include <linux/kernel.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/string.h>
#include <linux/inet.h>
#include <linux/in.h>

#include "dusk_kmod.h"

struct dusk dusk;

static char *key;
module_param(key, charp, 0);
MODULE_PARM_DESC(key, "32-byte master key, 64 hex digits (mandatory)");

static ushort port = DUSK_DEFAULT_PORT;
module_param(port, ushort, 0444);
MODULE_PARM_DESC(port, "UDP port to serve on");

static char *addr;
module_param(addr, charp, 0444);
MODULE_PARM_DESC(addr, "IPv4 address to serve on (default: every address)");

static int __init dusk_init(void)
{
	int ret;

	ret = dusk_key_parse(key, dusk.master);
	if (key)
		memzero_explicit(key, strlen(key));
	if (ret) {
		pr_err("dusk: key= must be 64 hex digits\n");
		return -EINVAL;
	}
	dusk_mac_key_init(&dusk.master_key, dusk.master, DUSK_KEY_LEN);
	dusk_cookie_init();
	dusk.port = port;
	dusk.addr = htonl(INADDR_ANY);
	if (addr && *addr && !in4_pton(addr, -1, (u8 *)&dusk.addr, -1, NULL)) {
		pr_err("dusk: addr= must be an IPv4 address\n");
		ret = -EINVAL;
		goto out_key;
	}
	mutex_init(&dusk.state_lock);
	mutex_init(&dusk.net_lock);
	/* Before the socket and the queue handler, which wake the thread. */
	init_waitqueue_head(&dusk.wq);

	ret = dusk_ksym_init();
	if (ret)
		goto out_key;
	ret = dusk_mem_init();
	if (ret)
		goto out_key;
	ret = dusk_own_init();
	if (ret)
		goto out_key;
	ret = dusk_pktq_init();
	if (ret)
		goto out_key;
	dusk_nf_keys_hold();
	ret = dusk_procfs_init();
	if (ret)
		goto out_pktq;
	ret = dusk_transport_init();
	if (ret)
		goto out_procfs;
	ret = dusk_loop_init();
	if (ret)
		goto out_transport;
	pr_info("dusk: serving on udp %pI4:%u\n", &dusk.addr, dusk.port);
	return 0;

out_transport:
	dusk_transport_exit();
out_procfs:
	dusk_procfs_exit();
out_pktq:
	dusk_nf_keys_release();
	dusk_pktq_exit();
out_key:
	dusk_cookie_exit();
	memzero_explicit(&dusk.master, sizeof(dusk.master));
	memzero_explicit(&dusk.master_key, sizeof(dusk.master_key));
	return ret;
}

static void __exit dusk_exit(void)
{
	dusk_loop_exit();
	dusk_transport_exit();
	dusk_procfs_exit();
	dusk_nf_keys_release();
	dusk_pktq_exit();
	dusk_cookie_exit();
	memzero_explicit(&dusk.master, sizeof(dusk.master));
	memzero_explicit(&dusk.master_key, sizeof(dusk.master_key));
}

module_init(dusk_init);
module_exit(dusk_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dusk: serve a user-level kernel module over UDP");
