# SPDX-License-Identifier: GPL-2.0
"""sk_buff, nf_hook_state, net_device, file and inode in a line each.

A decoder takes the object (a gdb.Value of the struct, from whichever
side) and a View that reads the memory it points to from the same side:
the program's mirror (ShadowView: through the runtime, fetching or only
peeking) or the live kernel (KernelView). Kernel layouts and enum names
come from the program's DWARF, else from what the target kernel's kbuild
generated at build time, checked against each other (types.py): a
program built for another kernel is refused with types.LayoutError, never
decoded. What the network headers hold (IP, TCP, UDP, ICMP) is decoded by
their wire formats and numbers, which are Internet standards (RFC 791,
8200, 9293, 768, 792, 4443), not kernel layouts.
"""

import ipaddress
import struct

import gdb

from . import runtime, types

ETH_P = {0x0800: "IPv4", 0x86dd: "IPv6", 0x0806: "ARP"}
IPPROTO = {1: "ICMP", 2: "IGMP", 6: "TCP", 17: "UDP", 41: "IPv6",
           47: "GRE", 50: "ESP", 51: "AH", 58: "ICMPv6", 132: "SCTP",
           136: "UDPLite"}
ICMP_TYPES = {0: "echo-reply", 3: "unreachable", 5: "redirect",
              8: "echo-request", 11: "time-exceeded"}
ICMP6_TYPES = {1: "unreachable", 2: "too-big", 3: "time-exceeded",
               128: "echo-request", 129: "echo-reply",
               133: "router-solicit", 134: "router-advert",
               135: "neighbour-solicit", 136: "neighbour-advert"}


class View:
    """Where the memory an object points to is read from. read() gives
    None for what cannot be read; a types.LayoutError goes through."""
    name = "?"

    def read(self, addr, size):
        raise NotImplementedError

    def obj(self, addr, type_):
        """The object of type_ at addr as this side has it, or None."""
        data = self.read(addr, types.basic(type_).sizeof)
        return None if data is None else gdb.Value(data, type_)


class ShadowView(View):
    """The program's view: its mirror (fetch=False: only what is cached,
    nothing fetched, nothing changed - for printers while gdb shows a
    frame); the program's own memory as it is."""
    name = "shadow"

    def __init__(self, fetch=True):
        self.fetch = fetch

    def read(self, addr, size):
        try:
            if not runtime.is_kernel(addr) and not runtime.is_mirror(addr):
                return gdb.selected_inferior().read_memory(addr,
                                                           size).tobytes()
            return runtime.read_shadow(addr, size, fetch=self.fetch)
        except types.LayoutError:
            raise
        except (gdb.GdbError, gdb.MemoryError, gdb.error):
            return None


class KernelView(View):
    """The kernel's live bytes."""
    name = "kernel"

    def read(self, addr, size):
        try:
            k = runtime.kaddr(addr)
            return None if k is None else runtime.kread(k, size)
        except types.LayoutError:
            raise
        except (gdb.GdbError, gdb.error):
            return None


def _get(v, name):
    try:
        return int(v[name])
    except (gdb.error, KeyError, TypeError, ValueError):
        return None


def _hook_name(n, pf):
    inet = [types.enum_value(f"NFPROTO_{p}") for p in ("IPV4", "IPV6",
                                                        "INET")]
    if pf in inet:
        names = types.enum_names("NF_INET_PRE_ROUTING", "NF_INET_")
        if n in names:
            return names[n].replace("NF_INET_", "")
    return f"hook {n}"


def _pf_name(pf):
    names = types.enum_names("NFPROTO_IPV4", "NFPROTO_")
    return names[pf].replace("NFPROTO_", "") if pf in names else f"pf {pf}"


def _cstring(data):
    return data.split(b"\0", 1)[0].decode("latin-1") or "?"


def dev_name(addr, view):
    """The name of the net_device at addr, "-" for NULL, None if unread
    (struct net_device may be only declared in the program: its name's
    place then comes from the generated layout)."""
    if not addr:
        return "-"
    off, size = types.layout("net_device").member("name")
    data = view.read(addr + off, size)
    return None if data is None else _cstring(data)


# ---- packets ---------------------------------------------------------------------

def _addr(family, raw):
    return str(ipaddress.ip_address(raw)) if family else "?"


def _transport(proto, data, icmp6=False):
    if proto == 6 and len(data) >= 20:
        sport, dport, seq, ack, off_flags = struct.unpack("!HHIIH",
                                                          data[:14])
        flags = "".join(c for bit, c in ((0x02, "S"), (0x01, "F"),
                                         (0x04, "R"), (0x08, "P"),
                                         (0x10, "."), (0x20, "U"))
                        if off_flags & bit)
        return f"TCP {sport} > {dport} [{flags}] seq {seq} ack {ack}"
    if proto in (17, 136) and len(data) >= 8:
        sport, dport, length = struct.unpack("!HHH", data[:6])
        return f"{IPPROTO[proto]} {sport} > {dport} len {length}"
    if proto in (1, 58) and len(data) >= 4:
        table = ICMP6_TYPES if proto == 58 else ICMP_TYPES
        t, code = data[0], data[1]
        text = f"{IPPROTO[proto]} {table.get(t, f'type {t}')} code {code}"
        if t in ((128, 129) if proto == 58 else (0, 8)) and len(data) >= 8:
            ident, seq = struct.unpack("!HH", data[4:8])
            text += f" id {ident} seq {seq}"
        return text
    return None


def packet(data):
    """"IPv4 A > B ... | UDP 1 > 2 len 8" for network-layer bytes."""
    if len(data) < 1:
        return None
    version = data[0] >> 4
    if version == 4 and len(data) >= 20:
        ihl = (data[0] & 15) * 4
        tot, ident, frag, ttl, proto = struct.unpack("!HHHBB", data[2:10])
        text = (f"IPv4 {_addr(4, data[12:16])} > {_addr(4, data[16:20])} "
                f"{IPPROTO.get(proto, f'proto {proto}')} ttl {ttl} "
                f"id {ident} len {tot}")
        if frag & 0x1fff:
            text += f" frag {(frag & 0x1fff) * 8}"
            return text
        l4 = _transport(proto, data[ihl:])
        return f"{text} | {l4}" if l4 else text
    if version == 6 and len(data) >= 40:
        plen, nexthdr, hops = struct.unpack("!HBB", data[4:8])
        text = (f"IPv6 {_addr(6, data[8:24])} > {_addr(6, data[24:40])} "
                f"{IPPROTO.get(nexthdr, f'next {nexthdr}')} hlim {hops} "
                f"plen {plen}")
        l4 = _transport(nexthdr, data[40:])
        return f"{text} | {l4}" if l4 else text
    return f"(network header version {version})"


def skb(v, view):
    """One line for a struct sk_buff value."""
    parts = []
    dev = _get(v, "dev")
    name = dev_name(dev, view) if dev is not None else None
    parts.append(f"dev {name if name is not None else hex(dev or 0)}")
    length, data_len = _get(v, "len"), _get(v, "data_len")
    parts.append(f"len {length} data_len {data_len}")
    mark = _get(v, "mark")
    parts.append(f"mark {mark:#x}" if mark is not None else "mark ?")
    proto = _get(v, "protocol")
    if proto is not None:
        proto = struct.unpack("!H", struct.pack("=H", proto))[0]
        parts.append(f"proto {ETH_P.get(proto, hex(proto))}")
    text = " ".join(parts)
    net = _network(v, view, proto)
    return f"{text} | {net}" if net else text


def _unset(v, field):
    """The value of skb's header offset FIELD that means "not set": ~0 of
    its type ((typeof(skb->network_header))~0U, skbuff.h)."""
    return (1 << 8 * types.basic(v[field].type).sizeof) - 1


def _network(v, view, proto):
    head, nh = _get(v, "head"), _get(v, "network_header")
    tail, data = _get(v, "tail"), _get(v, "data")
    if not head or nh is None or tail is None:
        return None
    start = head + nh if nh != _unset(v, "network_header") else data
    if not start or proto not in (0x0800, 0x86dd, None):
        return None
    # Within the linear data (tail: an offset from head on 64-bit).
    avail = head + tail - start
    if avail <= 0:
        return None
    raw = view.read(start, min(avail, 96))
    if raw is None:
        return f"(headers at {start:#x} not readable)"
    return packet(raw)


def hook_state(v, view):
    """One line for a struct nf_hook_state value."""
    hook, pf = _get(v, "hook"), _get(v, "pf")
    parts = [_hook_name(hook, pf) if hook is not None else "hook ?",
             _pf_name(pf) if pf is not None else "pf ?"]
    for field in ("in", "out"):
        d = _get(v, field)
        name = dev_name(d, view) if d is not None else None
        parts.append(f"{field} {name if name is not None else hex(d or 0)}")
    return " ".join(parts)


def net_device(v, view):
    """One line for a struct net_device value."""
    try:
        arr = v["name"]         # char name[IFNAMSIZ]
        name = _cstring(bytes(int(arr[i]) & 0xff for i in
                              range(types.basic(arr.type).sizeof)))
    except gdb.error:
        name = "?"
    parts = [name]
    for field in ("ifindex", "mtu"):
        x = _get(v, field)
        if x is not None:
            parts.append(f"{field} {x}")
    flags = _get(v, "flags")
    if flags is not None:
        names = types.enum_names("IFF_UP", "IFF_")
        bits = [names[b].replace("IFF_", "") for b in sorted(names)
                if b and flags & b and bin(b).count("1") == 1]
        parts.append(f"flags {'|'.join(bits) or hex(flags)}")
    return " ".join(parts)


# ---- files ------------------------------------------------------------------------

# f_flags' names, without O_RDONLY/O_WRONLY/O_RDWR (the access mode).
_O_FLAGS = ("O_CREAT", "O_EXCL", "O_NOCTTY", "O_TRUNC", "O_APPEND",
            "O_NONBLOCK", "O_DSYNC", "FASYNC", "O_DIRECT", "O_LARGEFILE",
            "O_DIRECTORY", "O_NOFOLLOW", "O_NOATIME", "O_CLOEXEC", "__O_SYNC",
            "O_PATH")
_FMODES = ("FMODE_READ", "FMODE_WRITE", "FMODE_LSEEK", "FMODE_PREAD",
           "FMODE_PWRITE", "FMODE_EXEC", "FMODE_OPENED", "FMODE_CAN_READ",
           "FMODE_CAN_WRITE")
_S_TYPES = (("S_IFSOCK", "s"), ("S_IFLNK", "l"), ("S_IFREG", "-"),
            ("S_IFBLK", "b"), ("S_IFDIR", "d"), ("S_IFCHR", "c"),
            ("S_IFIFO", "p"))


def open_flags(flags):
    """"O_RDWR|O_NONBLOCK" for f_flags (the kernel's values, generated
    from its uapi fcntl.h)."""
    acc = flags & types.constant("O_ACCMODE")
    names = [{0: "O_RDONLY", types.constant("O_WRONLY"): "O_WRONLY",
              types.constant("O_RDWR"): "O_RDWR"}.get(acc, f"access {acc}")]
    rest = flags & ~types.constant("O_ACCMODE")
    for n in _O_FLAGS:
        bit = types.constant(n)
        if rest & bit:
            names.append(n.lstrip("_"))
            rest &= ~bit
    if rest:
        names.append(f"{rest:#o}")
    return "|".join(names)


def file_mode(mode):
    """"read|lseek|opened|can_read" for f_mode (bits without a name in
    hex)."""
    names = []
    for n in _FMODES:
        if mode & types.constant(n):
            names.append(n[6:].lower())
            mode &= ~types.constant(n)
    if mode:
        names.append(f"{mode:#x}")
    return "|".join(names) or "0"


def dev_numbers(dev):
    """"240:0" for a kernel dev_t (MAJOR(), MINOR())."""
    bits = types.constant("MINORBITS")
    return f"{dev >> bits}:{dev & ((1 << bits) - 1)}"


def inode_mode(mode):
    """"crw-r--r--" for i_mode."""
    kind = "?"
    for n, c in _S_TYPES:
        if mode & types.constant("S_IFMT") == types.constant(n):
            kind = c
    perms = "".join(c if mode & (1 << (8 - i)) else "-"
                    for i, c in enumerate("rwxrwxrwx"))
    return kind + perms


def _member_at(view, tag, addr, name):
    """Member NAME of the struct TAG at addr, through view, as an unsigned
    integer; None if unread."""
    off, size = types.layout(tag).member(name)
    data = view.read(addr + off, size)
    return None if data is None else int.from_bytes(data, "little")


def _signed(v, bits=64):
    return v - (1 << bits) if v is not None and v >> (bits - 1) else v


def inode_line(addr, view, short=False):
    """The inode at addr: "ino 12 crw------- 240:0 size 0" (short: "ino
    12 dev 240:0" for a device, else "ino 12")."""
    ino = _member_at(view, "inode", addr, "i_ino")
    mode = _member_at(view, "inode", addr, "i_mode")
    rdev = _member_at(view, "inode", addr, "i_rdev")
    parts = [f"ino {ino if ino is not None else '?'}"]
    is_dev = mode is not None and mode & types.constant("S_IFMT") in (
        types.constant("S_IFCHR"), types.constant("S_IFBLK"))
    if not short and mode is not None:
        parts.append(inode_mode(mode))
    if rdev is not None and (is_dev or (mode is None and rdev)):
        parts.append(f"dev {dev_numbers(rdev)}")
    if not short:
        size = _signed(_member_at(view, "inode", addr, "i_size"))
        if size is not None:
            parts.append(f"size {size}")
    return " ".join(parts)


def dentry_name(addr, view):
    """The name of the dentry at addr (its d_name), None if unread."""
    off = types.layout("dentry").member("d_name")[0]
    q = view.read(addr + off, types.layout("qstr").sizeof)
    if q is None:
        return None
    qs = types.layout("qstr")
    length, name = qs.read(q, "len"), qs.read(q, "name")
    if not name or length > 255:
        return None
    data = view.read(name, length)
    return None if data is None else data.decode("latin-1")


def file(v, view):
    """One line for a struct file value: its name, f_pos, f_flags,
    f_mode, the inode (its device's major:minor) and private_data."""
    parts = []
    try:
        dentry = int(v["f_path"]["dentry"])
        name = dentry_name(dentry, view) if dentry else None
        if name is not None:
            parts.append(f'"{name}"')
    except gdb.error:
        pass
    pos = _get(v, "f_pos")
    parts.append(f"pos {pos if pos is not None else '?'}")
    flags = _get(v, "f_flags")
    if flags is not None:
        parts.append(f"flags {open_flags(flags)}")
    mode = _get(v, "f_mode")
    if mode is not None:
        parts.append(f"mode {file_mode(mode)}")
    inode = _get(v, "f_inode")
    if inode:
        parts.append(f"inode {inode_line(inode, view, short=True)}")
    priv = _get(v, "private_data")
    if priv is not None:
        parts.append(f"private_data {priv & ((1 << 64) - 1):#x}")
    return " ".join(parts)


def inode(v, view):
    """One line for a struct inode value."""
    parts = [f"ino {_get(v, 'i_ino')}"]
    mode = _get(v, "i_mode")
    if mode is not None:
        parts.append(inode_mode(mode))
    rdev = _get(v, "i_rdev")
    if rdev is not None:
        parts.append(f"dev {dev_numbers(rdev)}")
    size = _get(v, "i_size")
    if size is not None:
        parts.append(f"size {size}")
    return " ".join(parts)


DECODERS = {"sk_buff": skb, "nf_hook_state": hook_state,
            "net_device": net_device, "file": file, "inode": inode}


def summary(tag, v, view):
    """The line for a struct of this tag, None if there is no decoder or
    it could not be read; types.LayoutError when the program's layout of
    it is not the kernel's dusk-gdb was built for."""
    fn = DECODERS.get(tag)
    if fn is None or v is None:
        return None
    types.lookup(f"struct {tag}")       # checks its size
    try:
        return fn(v, view)
    except types.LayoutError:
        raise
    except (gdb.error, gdb.GdbError, ValueError, struct.error):
        return None


def pointer_summary(tag, addr, view):
    """A short line for a pointer to a struct of this tag (for printers
    of pointers: only what view can read)."""
    if tag not in DECODERS:
        return None
    if tag == "net_device":
        return dev_name(addr, view)
    t = types.lookup(f"struct {tag}")
    if t is None:
        return None
    return summary(tag, view.obj(addr, t), view)
