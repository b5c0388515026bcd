// SPDX-License-Identifier: GPL-2.0
/*
 * The target kernel's layouts and constants that dusk-gdb relies on, from
 * its own headers, the way the kernel makes asm-offsets.h: kbuild compiles
 * this file to layout.s and build-aux/gen-constants takes the "->NAME
 * VALUE" lines into dusk/constants.py. Nothing here is run.
 *
 * The program's DWARF is the first source of type truth (the module was
 * compiled from the same headers); these values are checked against it
 * (SIZEOF_*: a program built for another kernel fails loudly) and stand in
 * for what it lacks: a struct only declared in the program (a pointer
 * member nobody dereferences), an enum it never uses.
 *
 * Names: SIZEOF_<tag>, OFFSETOF_<tag>__<member>, SIZEOF_<tag>__<member>,
 * KERNEL_<constant>.
 */
#include <linux/kbuild.h>
#include <linux/skbuff.h>
#include <linux/netdevice.h>
#include <linux/netfilter.h>
#include <linux/fs.h>
#include <linux/dcache.h>
#include <linux/kdev_t.h>

#define SIZE(tag)	DEFINE(SIZEOF_##tag, sizeof(struct tag))
#define MEMBER(tag, m)							\
	do {								\
		OFFSET(OFFSETOF_##tag##__##m, tag, m);			\
		DEFINE(SIZEOF_##tag##__##m, sizeof_field(struct tag, m)); \
	} while (0)
#define KCONST(name)	DEFINE(KERNEL_##name, name)

void dusk_gdb_layout(void);

void dusk_gdb_layout(void)
{
	/* The objects the decoders show (decode.py). */
	SIZE(sk_buff);
	SIZE(nf_hook_state);
	SIZE(net_device);
	/* A device's name, read at a net_device pointer (dev_name()). */
	MEMBER(net_device, name);

	/* Protocol families of nf_hook_state.pf (enum, uapi netfilter.h). */
	KCONST(NFPROTO_UNSPEC);
	KCONST(NFPROTO_INET);
	KCONST(NFPROTO_IPV4);
	KCONST(NFPROTO_ARP);
	KCONST(NFPROTO_NETDEV);
	KCONST(NFPROTO_BRIDGE);
	KCONST(NFPROTO_IPV6);
	/* The hooks of the inet families (enum nf_inet_hooks). */
	KCONST(NF_INET_PRE_ROUTING);
	KCONST(NF_INET_LOCAL_IN);
	KCONST(NF_INET_FORWARD);
	KCONST(NF_INET_LOCAL_OUT);
	KCONST(NF_INET_POST_ROUTING);
	/* net_device.flags (enum net_device_flags, uapi if.h). */
	KCONST(IFF_UP);
	KCONST(IFF_BROADCAST);
	KCONST(IFF_DEBUG);
	KCONST(IFF_LOOPBACK);
	KCONST(IFF_POINTOPOINT);
	KCONST(IFF_NOTRAILERS);
	KCONST(IFF_RUNNING);
	KCONST(IFF_NOARP);
	KCONST(IFF_PROMISC);
	KCONST(IFF_ALLMULTI);
	KCONST(IFF_MASTER);
	KCONST(IFF_SLAVE);
	KCONST(IFF_MULTICAST);
	KCONST(IFF_PORTSEL);
	KCONST(IFF_AUTOMEDIA);
	KCONST(IFF_DYNAMIC);
	KCONST(IFF_LOWER_UP);
	KCONST(IFF_DORMANT);
	KCONST(IFF_ECHO);

	/* A file operation's objects (decode.py's file and inode): what is
	 * read at an inode or dentry pointer, which the module may only
	 * declare. */
	SIZE(file);
	SIZE(inode);
	SIZE(dentry);
	SIZE(qstr);
	MEMBER(inode, i_mode);
	MEMBER(inode, i_ino);
	MEMBER(inode, i_rdev);
	MEMBER(inode, i_size);
	MEMBER(dentry, d_name);
	MEMBER(qstr, len);
	MEMBER(qstr, name);
	/* dev_t as the kernel splits it (MAJOR(), MINOR()). */
	KCONST(MINORBITS);
	/* f_flags (uapi fcntl.h). */
	KCONST(O_ACCMODE);
	KCONST(O_WRONLY);
	KCONST(O_RDWR);
	KCONST(O_CREAT);
	KCONST(O_EXCL);
	KCONST(O_NOCTTY);
	KCONST(O_TRUNC);
	KCONST(O_APPEND);
	KCONST(O_NONBLOCK);
	KCONST(O_DSYNC);
	KCONST(FASYNC);
	KCONST(O_DIRECT);
	KCONST(O_LARGEFILE);
	KCONST(O_DIRECTORY);
	KCONST(O_NOFOLLOW);
	KCONST(O_NOATIME);
	KCONST(O_CLOEXEC);
	KCONST(__O_SYNC);
	KCONST(O_PATH);
	/* f_mode's access bits. */
	KCONST(FMODE_READ);
	KCONST(FMODE_WRITE);
	KCONST(FMODE_LSEEK);
	KCONST(FMODE_PREAD);
	KCONST(FMODE_PWRITE);
	KCONST(FMODE_EXEC);
	KCONST(FMODE_OPENED);
	KCONST(FMODE_CAN_READ);
	KCONST(FMODE_CAN_WRITE);
	/* i_mode's file types (uapi stat.h). */
	KCONST(S_IFMT);
	KCONST(S_IFSOCK);
	KCONST(S_IFLNK);
	KCONST(S_IFREG);
	KCONST(S_IFBLK);
	KCONST(S_IFDIR);
	KCONST(S_IFCHR);
	KCONST(S_IFIFO);
}
