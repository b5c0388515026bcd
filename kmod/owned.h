/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Session-owned kernel resources: what a kernel call acquires for the
 * program, and the call that gives it back, in one table (as devres does
 * for drivers). owned.c records each successful acquire in the session;
 * the module's own release removes the record; whatever is left when the
 * session ends (BYE after a failed init or after module_exit, a crash or
 * SIGKILL reported by the watchdog, a lost heartbeat, a new session, rmmod
 * dusk) is released, newest first.
 *
 * DUSK_OWN_ACQUIRE(fn, ok, kind, release, nrel, obj, parent, v0..v3)
 *	fn acquires something when its return value passes ok. The record
 *	keeps four values, each taken from the call (DUSK_V_*); release is
 *	called with the first nrel of them. val[obj] is the thing itself:
 *	records whose val[obj] lies in memory the module frees go with it,
 *	as do records whose val[parent] is a thing released (a sysfs file
 *	of a kobject that is put, a proc entry under a removed directory),
 *	since the kernel takes those with it and releasing them again would
 *	touch freed memory.
 * DUSK_OWN_RELEASE(fn, kind, m0, m1)
 *	a call of fn removes the records of kind whose values equal its
 *	arguments as each DUSK_M() pair says (argument, value). A function
 *	may be listed for several kinds; every ACQUIRE's release is listed
 *	for its kind, which owned.c relies on at the session's end.
 *
 * A function the table does not list but whose name says it acquires
 * (DUSK_OWN_ACQUIRE_LIKE) is refused with -EOPNOTSUPP before it runs,
 * unless DUSK_OWN_NO_RELEASE lists it: nothing of it is the module's to
 * give back. Names that the running kernel does not have are skipped.
 */
#ifndef DUSK_OWNED_H
#define DUSK_OWNED_H

/* Where a value of a record comes from. */
#define DUSK_V_NONE		0x00
#define DUSK_V_RET		0x01	/* the return value */
#define DUSK_V_KSIZE		0x02	/* ksize() of the returned block */
#define DUSK_V_ZERO		0x03
#define DUSK_V_ARG(n)		(0x10 + (n))
#define DUSK_V_U32_AT(n)	(0x20 + (n))	/* the u32 arg n points to,
						 * read after the call */
#define DUSK_V_ARG_OR_RET(n)	(0x30 + (n))	/* arg n, or the return
						 * value if arg n is 0 */
#define DUSK_V_STR(n)		(0x40 + (n))	/* arg n, and the string it
						 * points to kept by name */

/* A release's argument n equals value v of the record (v 0xf: the string
 * at argument n equals the record's name). */
#define DUSK_M(n, v)		(0x80 | ((n) << 4) | (v))
#define DUSK_M_STR(n)		DUSK_M(n, 0xf)
#define DUSK_M_NONE		0

#define DUSK_NO_PARENT		0xff

/* What a return value must be for the call to have acquired. */
enum dusk_own_ok {
	DUSK_OK_ZERO,		/* 0 */
	DUSK_OK_NONNEG,		/* >= 0, as an int */
	DUSK_OK_PTR,		/* not NULL, not an ERR_PTR, not ZERO_SIZE_PTR */
	DUSK_OK_ANY,		/* always (void, or "already pending") */
};

/* Kinds of things: a release removes records of its kinds only. */
enum dusk_own_kind {
	DUSK_OWN_MEM,		/* val0 the block, val1 its size */
	DUSK_OWN_PAGES,		/* val0 the address, val1 the order */
	DUSK_OWN_PERCPU,
	DUSK_OWN_CACHE,
	DUSK_OWN_CACHE_OBJ,
	DUSK_OWN_CHRDEV_REGION,
	DUSK_OWN_CHRDEV,
	DUSK_OWN_CDEV,
	DUSK_OWN_CDEV_ALLOC,
	DUSK_OWN_CLASS,
	DUSK_OWN_DEVICE,
	DUSK_OWN_DEVICE_FILE,
	DUSK_OWN_PROC,
	DUSK_OWN_KOBJ,
	DUSK_OWN_SYSFS_FILE,
	DUSK_OWN_SYSFS_GROUP,
	DUSK_OWN_SYSFS_GROUPS,
	DUSK_OWN_DEBUGFS,
	DUSK_OWN_MISC,
	DUSK_OWN_NETDEV_NOTIFIER,
	DUSK_OWN_INETADDR_NOTIFIER,
	DUSK_OWN_INET6ADDR_NOTIFIER,
	DUSK_OWN_REBOOT_NOTIFIER,
	DUSK_OWN_PERNET_SUBSYS,
	DUSK_OWN_PERNET_DEVICE,
	DUSK_OWN_SOCKOPT,
	DUSK_OWN_SYSCTL,
	DUSK_OWN_NET_SYSCTL,
	DUSK_OWN_KPROBE,
	DUSK_OWN_NETDEV,
	DUSK_OWN_NETDEV_ALLOC,
	DUSK_OWN_TIMER,
	DUSK_OWN_WORK,
	DUSK_OWN_DWORK,
	DUSK_OWN_WORKQUEUE,
	DUSK_OWN_KTHREAD,
	DUSK_OWN_MOD_KTHREAD,	/* dusk.ko's thread for the module's (kthread.c) */
	__DUSK_OWN_KIND_MAX
};

/* Short names in the table (A R N M NP): defined where it is expanded. */
#define DUSK_OWN_TABLE(ACQ, REL)					\
	/* memory */							\
	ACQ(kmalloc_trace, PTR, MEM, kfree, 1, 0, NP, R, A(2), N, N)	\
	ACQ(kmalloc_node_trace, PTR, MEM, kfree, 1, 0, NP, R, A(3), N, N) \
	ACQ(__kmalloc, PTR, MEM, kfree, 1, 0, NP, R, A(0), N, N)	\
	ACQ(__kmalloc_node, PTR, MEM, kfree, 1, 0, NP, R, A(0), N, N)	\
	ACQ(kmalloc_large, PTR, MEM, kfree, 1, 0, NP, R, A(0), N, N)	\
	ACQ(kmalloc_large_node, PTR, MEM, kfree, 1, 0, NP, R, A(0), N, N) \
	ACQ(krealloc, PTR, MEM, kfree, 1, 0, NP, R, A(1), N, N)	\
	ACQ(kstrdup, PTR, MEM, kfree, 1, 0, NP, R, DUSK_V_KSIZE, N, N)	\
	ACQ(kstrndup, PTR, MEM, kfree, 1, 0, NP, R, DUSK_V_KSIZE, N, N)	\
	ACQ(kmemdup, PTR, MEM, kfree, 1, 0, NP, R, A(1), N, N)		\
	ACQ(kmemdup_nul, PTR, MEM, kfree, 1, 0, NP, R, DUSK_V_KSIZE,	\
	    N, N)							\
	ACQ(kasprintf, PTR, MEM, kfree, 1, 0, NP, R, DUSK_V_KSIZE, N,	\
	    N)								\
	ACQ(kvasprintf, PTR, MEM, kfree, 1, 0, NP, R, DUSK_V_KSIZE, N,	\
	    N)								\
	ACQ(kvmalloc_node, PTR, MEM, kvfree, 1, 0, NP, R, A(0), N, N)	\
	ACQ(vmalloc, PTR, MEM, vfree, 1, 0, NP, R, A(0), N, N)		\
	ACQ(vzalloc, PTR, MEM, vfree, 1, 0, NP, R, A(0), N, N)		\
	ACQ(vmalloc_node, PTR, MEM, vfree, 1, 0, NP, R, A(0), N, N)	\
	ACQ(vzalloc_node, PTR, MEM, vfree, 1, 0, NP, R, A(0), N, N)	\
	ACQ(__vmalloc, PTR, MEM, vfree, 1, 0, NP, R, A(0), N, N)	\
	REL(kfree, MEM, M(0, 0), DUSK_M_NONE)				\
	REL(kvfree, MEM, M(0, 0), DUSK_M_NONE)				\
	REL(vfree, MEM, M(0, 0), DUSK_M_NONE)				\
	REL(kfree_sensitive, MEM, M(0, 0), DUSK_M_NONE)		\
	REL(kfree_const, MEM, M(0, 0), DUSK_M_NONE)			\
	REL(krealloc, MEM, M(0, 0), DUSK_M_NONE)			\
	ACQ(__get_free_pages, PTR, PAGES, free_pages, 2, 0, NP, R, A(1), N, N) \
	ACQ(get_zeroed_page, PTR, PAGES, free_pages, 2, 0, NP, R,	\
	    DUSK_V_ZERO, N, N)						\
	REL(free_pages, PAGES, M(0, 0), DUSK_M_NONE)			\
	ACQ(__alloc_percpu, PTR, PERCPU, free_percpu, 1, 0, NP, R, N, N, N) \
	ACQ(__alloc_percpu_gfp, PTR, PERCPU, free_percpu, 1, 0, NP, R,	\
	    N, N, N)							\
	REL(free_percpu, PERCPU, M(0, 0), DUSK_M_NONE)			\
	ACQ(kmem_cache_create, PTR, CACHE, kmem_cache_destroy, 1, 0,	\
	    NP, R, N, N, N)						\
	ACQ(kmem_cache_create_usercopy, PTR, CACHE,			\
	    kmem_cache_destroy, 1, 0, NP, R, N, N, N)			\
	REL(kmem_cache_destroy, CACHE, M(0, 0), DUSK_M_NONE)		\
	ACQ(kmem_cache_alloc, PTR, CACHE_OBJ, kmem_cache_free, 2, 1,	\
	    0, A(0), R, N, N)						\
	ACQ(kmem_cache_alloc_lru, PTR, CACHE_OBJ, kmem_cache_free, 2,	\
	    1, 0, A(0), R, N, N)					\
	ACQ(kmem_cache_alloc_node, PTR, CACHE_OBJ, kmem_cache_free, 2,	\
	    1, 0, A(0), R, N, N)					\
	REL(kmem_cache_free, CACHE_OBJ, M(1, 1), DUSK_M_NONE)		\
	REL(kfree, CACHE_OBJ, M(0, 1), DUSK_M_NONE)			\
	/* char devices */						\
	ACQ(alloc_chrdev_region, ZERO, CHRDEV_REGION,			\
	    unregister_chrdev_region, 2, 0, NP, DUSK_V_U32_AT(0), A(2), N, N) \
	ACQ(register_chrdev_region, ZERO, CHRDEV_REGION,		\
	    unregister_chrdev_region, 2, 0, NP, A(0), A(1), N, N)	\
	REL(unregister_chrdev_region, CHRDEV_REGION, M(0, 0), M(1, 1))	\
	ACQ(__register_chrdev, NONNEG, CHRDEV, __unregister_chrdev, 4,	\
	    0, NP, DUSK_V_ARG_OR_RET(0), A(1), A(2), A(3))		\
	REL(__unregister_chrdev, CHRDEV, M(0, 0), M(1, 1))		\
	ACQ(cdev_alloc, PTR, CDEV_ALLOC, kobject_put, 1, 0, NP, R, N, N, N) \
	REL(kobject_put, CDEV_ALLOC, M(0, 0), DUSK_M_NONE)		\
	REL(cdev_del, CDEV_ALLOC, M(0, 0), DUSK_M_NONE)		\
	ACQ(cdev_add, ZERO, CDEV, cdev_del, 1, 0, NP, A(0), N, N, N)	\
	REL(cdev_del, CDEV, M(0, 0), DUSK_M_NONE)			\
	ACQ(cdev_device_add, ZERO, CDEV, cdev_device_del, 2, 0, NP,	\
	    A(0), A(1), N, N)						\
	REL(cdev_device_del, CDEV, M(0, 0), DUSK_M_NONE)		\
	/* class_create(name) since 6.4; a macro of __class_create before */ \
	ACQ(class_create, PTR, CLASS, class_destroy, 1, 0, NP, R, N, N, N) \
	ACQ(__class_create, PTR, CLASS, class_destroy, 1, 0, NP, R, N, N, N) \
	REL(class_destroy, CLASS, M(0, 0), DUSK_M_NONE)		\
	/* device_destroy(class, devt) finds what device_create made. */ \
	ACQ(device_create, PTR, DEVICE, device_unregister, 1, 0, NP,	\
	    R, A(0), A(2), N)						\
	ACQ(device_create_with_groups, PTR, DEVICE, device_unregister,	\
	    1, 0, NP, R, A(0), A(2), N)					\
	REL(device_unregister, DEVICE, M(0, 0), DUSK_M_NONE)		\
	REL(device_destroy, DEVICE, M(0, 1), M(1, 2))			\
	ACQ(device_create_file, ZERO, DEVICE_FILE, device_remove_file,	\
	    2, 1, 0, A(0), A(1), N, N)					\
	REL(device_remove_file, DEVICE_FILE, M(0, 0), M(1, 1))		\
	ACQ(misc_register, ZERO, MISC, misc_deregister, 1, 0, NP,	\
	    A(0), N, N, N)						\
	REL(misc_deregister, MISC, M(0, 0), DUSK_M_NONE)		\
	/* procfs: an entry goes with the directory it is in */		\
	ACQ(proc_create, PTR, PROC, proc_remove, 1, 0, 1, R, A(2),	\
	    DUSK_V_STR(0), N)						\
	ACQ(proc_create_data, PTR, PROC, proc_remove, 1, 0, 1, R,	\
	    A(2), DUSK_V_STR(0), N)					\
	ACQ(proc_create_single_data, PTR, PROC, proc_remove, 1, 0, 1,	\
	    R, A(2), DUSK_V_STR(0), N)					\
	ACQ(proc_create_seq_private, PTR, PROC, proc_remove, 1, 0, 1,	\
	    R, A(2), DUSK_V_STR(0), N)					\
	ACQ(proc_create_net_data, PTR, PROC, proc_remove, 1, 0, 1, R,	\
	    A(2), DUSK_V_STR(0), N)					\
	ACQ(proc_create_net_single, PTR, PROC, proc_remove, 1, 0, 1,	\
	    R, A(2), DUSK_V_STR(0), N)					\
	ACQ(proc_mkdir, PTR, PROC, proc_remove, 1, 0, 1, R, A(1),	\
	    DUSK_V_STR(0), N)						\
	ACQ(proc_mkdir_mode, PTR, PROC, proc_remove, 1, 0, 1, R, A(2),	\
	    DUSK_V_STR(0), N)						\
	ACQ(proc_mkdir_data, PTR, PROC, proc_remove, 1, 0, 1, R, A(2),	\
	    DUSK_V_STR(0), N)						\
	ACQ(proc_symlink, PTR, PROC, proc_remove, 1, 0, 1, R, A(1),	\
	    DUSK_V_STR(0), N)						\
	REL(proc_remove, PROC, M(0, 0), DUSK_M_NONE)			\
	REL(remove_proc_entry, PROC, DUSK_M_STR(0), M(1, 1))		\
	REL(remove_proc_subtree, PROC, DUSK_M_STR(0), M(1, 1))		\
	/* sysfs: files go with their kobject */			\
	ACQ(kobject_create_and_add, PTR, KOBJ, kobject_put, 1, 0, NP,	\
	    R, N, N, N)							\
	/* a kobject the module embeds: put as the module would */	\
	ACQ(kobject_init_and_add, ZERO, KOBJ, kobject_put, 1, 0, NP,	\
	    A(0), N, N, N)						\
	REL(kobject_put, KOBJ, M(0, 0), DUSK_M_NONE)			\
	ACQ(kset_create_and_add, PTR, KOBJ, kset_unregister, 1, 0, NP,	\
	    R, N, N, N)							\
	REL(kset_unregister, KOBJ, M(0, 0), DUSK_M_NONE)		\
	ACQ(sysfs_create_file_ns, ZERO, SYSFS_FILE,			\
	    sysfs_remove_file_ns, 3, 1, 0, A(0), A(1), A(2), N)		\
	REL(sysfs_remove_file_ns, SYSFS_FILE, M(0, 0), M(1, 1))	\
	ACQ(sysfs_create_group, ZERO, SYSFS_GROUP, sysfs_remove_group,	\
	    2, 1, 0, A(0), A(1), N, N)					\
	REL(sysfs_remove_group, SYSFS_GROUP, M(0, 0), M(1, 1))		\
	ACQ(sysfs_create_groups, ZERO, SYSFS_GROUPS,			\
	    sysfs_remove_groups, 2, 1, 0, A(0), A(1), N, N)		\
	REL(sysfs_remove_groups, SYSFS_GROUPS, M(0, 0), M(1, 1))	\
	ACQ(debugfs_create_dir, PTR, DEBUGFS, debugfs_remove, 1, 0, 1,	\
	    R, A(1), N, N)						\
	ACQ(debugfs_create_file, PTR, DEBUGFS, debugfs_remove, 1, 0,	\
	    1, R, A(2), N, N)						\
	REL(debugfs_remove, DEBUGFS, M(0, 0), DUSK_M_NONE)		\
	/* notifiers and registrations */				\
	ACQ(register_netdevice_notifier, ZERO, NETDEV_NOTIFIER,		\
	    unregister_netdevice_notifier, 1, 0, NP, A(0), N, N, N)	\
	REL(unregister_netdevice_notifier, NETDEV_NOTIFIER, M(0, 0),	\
	    DUSK_M_NONE)						\
	ACQ(register_inetaddr_notifier, ZERO, INETADDR_NOTIFIER,	\
	    unregister_inetaddr_notifier, 1, 0, NP, A(0), N, N, N)	\
	REL(unregister_inetaddr_notifier, INETADDR_NOTIFIER, M(0, 0),	\
	    DUSK_M_NONE)						\
	ACQ(register_inet6addr_notifier, ZERO, INET6ADDR_NOTIFIER,	\
	    unregister_inet6addr_notifier, 1, 0, NP, A(0), N, N, N)	\
	REL(unregister_inet6addr_notifier, INET6ADDR_NOTIFIER, M(0,	\
	    0), DUSK_M_NONE)						\
	ACQ(register_reboot_notifier, ZERO, REBOOT_NOTIFIER,		\
	    unregister_reboot_notifier, 1, 0, NP, A(0), N, N, N)	\
	REL(unregister_reboot_notifier, REBOOT_NOTIFIER, M(0, 0), DUSK_M_NONE) \
	ACQ(register_pernet_subsys, ZERO, PERNET_SUBSYS,		\
	    unregister_pernet_subsys, 1, 0, NP, A(0), N, N, N)		\
	REL(unregister_pernet_subsys, PERNET_SUBSYS, M(0, 0), DUSK_M_NONE) \
	ACQ(register_pernet_device, ZERO, PERNET_DEVICE,		\
	    unregister_pernet_device, 1, 0, NP, A(0), N, N, N)		\
	REL(unregister_pernet_device, PERNET_DEVICE, M(0, 0), DUSK_M_NONE) \
	ACQ(nf_register_sockopt, ZERO, SOCKOPT, nf_unregister_sockopt,	\
	    1, 0, NP, A(0), N, N, N)					\
	REL(nf_unregister_sockopt, SOCKOPT, M(0, 0), DUSK_M_NONE)	\
	ACQ(register_sysctl, PTR, SYSCTL, unregister_sysctl_table, 1,	\
	    0, NP, R, N, N, N)						\
	ACQ(register_sysctl_table, PTR, SYSCTL,				\
	    unregister_sysctl_table, 1, 0, NP, R, N, N, N)		\
	REL(unregister_sysctl_table, SYSCTL, M(0, 0), DUSK_M_NONE)	\
	ACQ(register_net_sysctl, PTR, NET_SYSCTL,			\
	    unregister_net_sysctl_table, 1, 0, NP, R, N, N, N)		\
	REL(unregister_net_sysctl_table, NET_SYSCTL, M(0, 0), DUSK_M_NONE) \
	ACQ(register_kprobe, ZERO, KPROBE, unregister_kprobe, 1, 0,	\
	    NP, A(0), N, N, N)						\
	REL(unregister_kprobe, KPROBE, M(0, 0), DUSK_M_NONE)		\
	ACQ(alloc_netdev_mqs, PTR, NETDEV_ALLOC, free_netdev, 1, 0,	\
	    NP, R, N, N, N)						\
	REL(free_netdev, NETDEV_ALLOC, M(0, 0), DUSK_M_NONE)		\
	ACQ(register_netdev, ZERO, NETDEV, unregister_netdev, 1, 0,	\
	    NP, A(0), N, N, N)						\
	REL(unregister_netdev, NETDEV, M(0, 0), DUSK_M_NONE)		\
	/* timers, work, threads */					\
	ACQ(add_timer, ANY, TIMER, timer_delete_sync, 1, 0, NP, A(0), N, N, N) \
	ACQ(add_timer_on, ANY, TIMER, timer_delete_sync, 1, 0, NP,	\
	    A(0), N, N, N)						\
	ACQ(mod_timer, ANY, TIMER, timer_delete_sync, 1, 0, NP, A(0), N, N, N) \
	ACQ(timer_reduce, ANY, TIMER, timer_delete_sync, 1, 0, NP,	\
	    A(0), N, N, N)						\
	REL(timer_delete_sync, TIMER, M(0, 0), DUSK_M_NONE)		\
	REL(timer_delete, TIMER, M(0, 0), DUSK_M_NONE)			\
	REL(timer_shutdown_sync, TIMER, M(0, 0), DUSK_M_NONE)		\
	REL(timer_shutdown, TIMER, M(0, 0), DUSK_M_NONE)		\
	/* functions before timer_delete*() replaced them */		\
	REL(del_timer_sync, TIMER, M(0, 0), DUSK_M_NONE)		\
	REL(del_timer, TIMER, M(0, 0), DUSK_M_NONE)		\
	ACQ(queue_work_on, ANY, WORK, cancel_work_sync, 1, 0, NP,	\
	    A(2), N, N, N)						\
	REL(cancel_work_sync, WORK, M(0, 0), DUSK_M_NONE)		\
	REL(cancel_work, WORK, M(0, 0), DUSK_M_NONE)			\
	ACQ(queue_delayed_work_on, ANY, DWORK,				\
	    cancel_delayed_work_sync, 1, 0, NP, A(2), N, N, N)		\
	ACQ(mod_delayed_work_on, ANY, DWORK, cancel_delayed_work_sync,	\
	    1, 0, NP, A(2), N, N, N)					\
	REL(cancel_delayed_work_sync, DWORK, M(0, 0), DUSK_M_NONE)	\
	REL(cancel_delayed_work, DWORK, M(0, 0), DUSK_M_NONE)		\
	ACQ(alloc_workqueue, PTR, WORKQUEUE, destroy_workqueue, 1, 0,	\
	    NP, R, N, N, N)						\
	REL(destroy_workqueue, WORKQUEUE, M(0, 0), DUSK_M_NONE)	\
	ACQ(kthread_create_on_node, PTR, KTHREAD, kthread_stop, 1, 0,	\
	    NP, R, N, N, N)						\
	REL(kthread_stop, KTHREAD, M(0, 0), DUSK_M_NONE)

/*
 * Names that say "acquire": a kernel function the table does not list
 * whose name has one of these is refused, unless its name also says it
 * gives back (DUSK_OWN_GIVES_BACK) or DUSK_OWN_NO_RELEASE names it.
 */
#define DUSK_OWN_ACQUIRE_LIKE						\
	"register", "alloc", "create", "request_", "strdup", "memdup",	\
	"asprintf", "get_free_page", "get_zeroed_page", "add_timer",	\
	"mod_timer", "hrtimer_start", "queue_work", "queue_delayed_work", \
	"queue_rcu_work", "kthread_create", "kthread_run"

#define DUSK_OWN_GIVES_BACK						\
	"unregister", "free", "destroy", "remove", "release", "dealloc"

/* Names that look like an acquire but leave the module nothing to give
 * back; the comment above each group says why. */
#define DUSK_OWN_NO_RELEASE						\
	/* compute or look up, keep nothing */				\
	"kmalloc_size_roundup", "dev_alloc_name", "__request_module",	\
	"proc_create_mount_point",					\
	/* the skb goes to the network stack, which frees it: dusk	\
	 * cannot tell when it does (a leaked skb stays leaked) */	\
	"__alloc_skb", "alloc_skb_with_frags", "__netdev_alloc_skb",	\
	"__napi_alloc_skb", "skb_copy_expand", "pskb_expand_head",	\
	"skb_realloc_headroom", "skb_expand_head"

#endif /* DUSK_OWNED_H */
