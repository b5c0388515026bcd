# SPDX-License-Identifier: GPL-2.0
"""Types as the program's DWARF has them - the kernel's (the module was
compiled against the target kernel's headers) and libdusk's own (built
with -g) - looked up lazily and cached; the cache is cleared when an
objfile is loaded (a new run, another program).

Nothing here knows a layout by heart. Where the build generated one
(constants.py: SIZEOF_<tag>, OFFSETOF_<tag>__<member> and SIZEOF_<tag>__
<member> from the target kernel's kbuild and from libdusk's headers by the
compiler, KERNEL_<name> for the kernel's enumerators), it is checked
against the DWARF - a program built for another kernel or another libdusk
is refused with an error naming the type, never decoded as garbage - and
stands in for what the DWARF lacks (a struct only declared there, an enum
the module never uses). A type neither has is an error naming it.
"""

import gdb

from . import constants as C

_types = {}
_enums = {}
_layouts = {}


class LayoutError(gdb.GdbError):
    """The program's layout of a type is not the one dusk-gdb was built
    with, or dusk-gdb knows none: nothing of that type can be decoded.
    Callers that otherwise turn failures into "not readable" let it
    through."""


def clear(event=None):
    _types.clear()
    _enums.clear()
    _layouts.clear()


def register():
    gdb.events.new_objfile.connect(clear)
    gdb.events.clear_objfiles.connect(clear)


def lookup(name):
    """The complete type NAME ("struct sk_buff", "u32"), or None; a
    struct whose size the build generated is checked against it
    (LayoutError when they differ)."""
    if name not in _types:
        try:
            t = gdb.lookup_type(name)
            if t.strip_typedefs().code in (gdb.TYPE_CODE_STRUCT,
                                           gdb.TYPE_CODE_UNION) and \
                    t.strip_typedefs().sizeof == 0:
                t = None        # only declared
        except gdb.error:
            t = None
        _types[name] = t
    t = _types[name]
    if t is not None and name.startswith("struct "):
        _check_size(name[7:], t)
    return t


def _generated(*parts):
    """The build's generated value SIZEOF_tag, OFFSETOF_tag__member..., or
    None."""
    return getattr(C, "__".join(parts), None)


def _origin(tag):
    return f"the target kernel's headers ({C.KERNEL_RELEASE})" \
        if not tag.startswith("dusk_") else "libdusk's headers"


def _check_size(tag, t):
    size = _generated(f"SIZEOF_{tag}")
    if size is not None and basic(t).sizeof != size:
        raise LayoutError(
            f"struct {tag} is {basic(t).sizeof} bytes in the program's "
            f"debug information but {size} in {_origin(tag)} this dusk-gdb "
            f"was built with: the program was built for another "
            f"{'kernel' if not tag.startswith('dusk_') else 'libdusk'}; "
            f"rebuild it (or dusk) for the same one")


class Layout:
    """struct TAG's size and members' (offset, size): from the program's
    DWARF when it has the struct, else from the build's generated layout.
    """

    def __init__(self, tag):
        self.tag = tag
        self.type = lookup(f"struct {tag}")     # checks the size
        self.source = "DWARF" if self.type is not None else "generated"
        if self.type is not None:
            self.sizeof = basic(self.type).sizeof
        else:
            self.sizeof = _generated(f"SIZEOF_{tag}")
            if self.sizeof is None:
                raise LayoutError(
                    f"struct {tag} is not in the program's debug "
                    f"information (build it with -g: dusk-cc does) and "
                    f"dusk-gdb has no layout of it")
        self._members = {}

    def member(self, name):
        """(offset, size) of member NAME."""
        if name not in self._members:
            self._members[name] = self._member(name)
        return self._members[name]

    def _member(self, name):
        gen = (_generated(f"OFFSETOF_{self.tag}", name),
               _generated(f"SIZEOF_{self.tag}", name))
        if self.type is not None:
            f = find_field(self.type, name)
            if f is None:
                raise LayoutError(f"struct {self.tag} has no member {name} "
                                  f"in the program's debug information")
            got = (f[1], basic(f[0].type).sizeof)
            if None not in gen and got != gen:
                raise LayoutError(
                    f"struct {self.tag}: member {name} is at {got[0]} "
                    f"({got[1]} bytes) in the program's debug information "
                    f"but at {gen[0]} ({gen[1]} bytes) in {_origin(self.tag)}"
                    f": the program was built for another one")
            return got
        if None in gen:
            raise LayoutError(f"struct {self.tag} is not in the program's "
                              f"debug information and dusk-gdb has no "
                              f"layout of its member {name}")
        return gen

    def read(self, data, name):
        """Member NAME of the object's bytes DATA, as an unsigned integer
        (the target's byte order: little-endian, x86-64)."""
        off, size = self.member(name)
        return int.from_bytes(data[off:off + size], "little")


def layout(tag):
    """The Layout of struct TAG, cached (LayoutError: none, or a
    mismatch)."""
    if tag not in _layouts:
        _layouts[tag] = Layout(tag)
    return _layouts[tag]


def basic(t):
    """t without typedefs and qualifiers."""
    return t.strip_typedefs().unqualified()


def is_pointer(t):
    return basic(t).code == gdb.TYPE_CODE_PTR


def is_aggregate(t):
    return basic(t).code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION)


def tag(t):
    """"sk_buff" for struct sk_buff (and typedefs of it), else None."""
    b = basic(t)
    return b.tag if b.code in (gdb.TYPE_CODE_STRUCT,
                               gdb.TYPE_CODE_UNION) else None


def find_field(t, name):
    """(field, byte offset) of member NAME of struct/union t, looking into
    anonymous members as C does; None when it has none."""
    b = basic(t)
    if b.code not in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
        return None
    for f in b.fields():
        if f.name == name:
            return f, f.bitpos // 8
        if f.name is None and is_aggregate(f.type):
            inner = find_field(f.type, name)
            if inner:
                return inner[0], f.bitpos // 8 + inner[1]
    return None


def enum_names(enumerator, prefix):
    """{value: name} of the kernel enum that has ENUMERATOR among its
    names (nf_inet_hooks for "NF_INET_PRE_ROUTING"), its names starting
    with PREFIX ("NF_INET_"): from the program's DWARF, else from the
    values the build generated (KERNEL_<name>); {} if neither has it."""
    if enumerator not in _enums:
        names = {}
        try:
            sym = gdb.lookup_static_symbol(enumerator) or \
                gdb.lookup_global_symbol(enumerator) or \
                gdb.lookup_symbol(enumerator)[0]
            if sym is not None and basic(sym.type).code == gdb.TYPE_CODE_ENUM:
                for f in basic(sym.type).fields():
                    if f.name.startswith(prefix):
                        names.setdefault(f.enumval, f.name)
        except gdb.error:
            pass
        if not names:
            for name, value in vars(C).items():
                if name.startswith("KERNEL_" + prefix):
                    names.setdefault(value, name[7:])
        _enums[enumerator] = names
    return _enums[enumerator]


def constant(name):
    """The target kernel's constant NAME (a macro: O_NONBLOCK, MINORBITS),
    as its kbuild computed it (KERNEL_<name>); LayoutError when the build
    generated none."""
    v = getattr(C, "KERNEL_" + name, None)
    if v is None:
        raise LayoutError(f"dusk-gdb has no value of the kernel's {name}")
    return v


def enum_value(name):
    """The value of kernel enumerator NAME ("NFPROTO_IPV4"): from the
    program's DWARF, else generated; LayoutError when neither has it."""
    try:
        return int(gdb.parse_and_eval(name))
    except gdb.error:
        pass
    v = getattr(C, "KERNEL_" + name, None)
    if v is None:
        raise LayoutError(f"{name} is not in the program's debug "
                          f"information and dusk-gdb has no value of it")
    return v
