# SPDX-License-Identifier: GPL-2.0
"""Breakpoint conditions compiled into the program.

"dusk break-hook NAME if COND" stops in NAME only when COND holds. Tested
by gdb, every call of NAME is a ptrace stop and a few inferior calls,
whatever COND says. So COND is translated here into C over NAME's
arguments (args[i], as the runtime passes them) and the module's
variables (at their addresses in this run), every read of memory going
through env->read - the runtime's: a kernel address through the shadow
cache, as the module's own accesses - and compiled once by the host
compiler into a flat block of position-independent code, which the
runtime takes (dusk_dbg_cond_alloc, dusk_dbg_cond_set in
runtime/include/dusk_debug.h) and runs before each call of NAME.

The translation knows C's types from the program's DWARF: a value is a
scalar of the same size and signedness, a pointer an integer address
(pointer arithmetic scaled here), a member an offset, a bitfield a shift
and a mask. What it cannot translate (gdb's convenience variables,
function calls, assignments, floating point, a local variable) raises
Uncompilable: gdb then tests the condition as before.
"""

import hashlib
import os
import shlex
import subprocess
import tempfile

import gdb
from pycparser import c_ast

from . import constants as C
from . import expr
from . import types


class Uncompilable(Exception):
    """The condition cannot run in the program (the reason, one line)."""


_INTS = (gdb.TYPE_CODE_INT, gdb.TYPE_CODE_CHAR, gdb.TYPE_CODE_BOOL,
         gdb.TYPE_CODE_ENUM)
_COMPARE = ("==", "!=", "<", ">", "<=", ">=")

# The ABI with libdusk (dusk_debug.h): struct dusk_dbg_cond_env, and
# dusk_cond first in the block.
_PRELUDE = """\
#include <stddef.h>
#include <stdint.h>

struct dusk_dbg_cond_env {
	const void *(*read)(struct dusk_dbg_cond_env *env, uint64_t addr,
			    size_t len);
	void (*fail)(struct dusk_dbg_cond_env *env, const char *why);
};

#define DUSK_LOAD(T, addr) \\
	(*(const T __attribute__((aligned(1), may_alias)) *) \\
	 env->read(env, (addr), sizeof(T)))

/* A bitfield: size bits at bit off of the nbytes at addr. */
static inline uint64_t dusk_bits(struct dusk_dbg_cond_env *env, uint64_t addr,
				 unsigned int nbytes, unsigned int off,
				 unsigned int size, int is_signed)
{
	const volatile uint8_t *p = env->read(env, addr, nbytes);
	unsigned __int128 v = 0;
	unsigned int i;

	for (i = 0; i < nbytes; i++)
		v |= (unsigned __int128)p[i] << (8 * i);
	v = (v >> off) & (((unsigned __int128)1 << size) - 1);
	if (is_signed && size < 64 && (v >> (size - 1)) & 1)
		v |= ~(unsigned __int128)0 << size;
	return (uint64_t)v;
}

__attribute__((section(".text.dusk_cond"), used))
int dusk_cond(struct dusk_dbg_cond_env *env, const uint64_t *args)
{
	(void)args;
	return (%s) != 0;
}
"""

# One output section, the code then its constants; anything else (data,
# a GOT, relocations) fails the link: the block is copied as it is.
_LDSCRIPT = """\
ENTRY(dusk_cond)
SECTIONS {
	. = 0;
	.text : { *(.text.dusk_cond) *(.text .text.*) *(.rodata .rodata.*) }
	.unwanted : { *(.data .data.* .bss .bss.* COMMON .got .got.* .igot
			.igot.* .iplt .rela.* .dynamic) }
	/DISCARD/ : { *(.comment) *(.note .note.*) *(.eh_frame .eh_frame_hdr) }
}
ASSERT(SIZEOF(.unwanted) == 0, "the condition needs data or relocations");
"""

_CFLAGS = ["-std=gnu11", "-O2", "-ffreestanding", "-fno-stack-protector",
           "-fPIE", "-fno-asynchronous-unwind-tables", "-fno-unwind-tables",
           "-fcf-protection=none", "-nostdlib", "-static",
           "-Wl,--no-dynamic-linker", "-Wl,--orphan-handling=error",
           "-Wl,--build-id=none"]

_workdir = None
_built = {}             # C source -> code (bytes)


class _V:
    """A value while translating: text, C expression; type, its gdb.Type;
    lvalue: text is the object's address (uintptr_t), not its value;
    bits: (bit offset, bit size) of a bitfield lvalue."""

    __slots__ = ("text", "type", "lvalue", "bits")

    def __init__(self, text, typ, lvalue=False, bits=None):
        self.text, self.type, self.lvalue, self.bits = \
            text, typ, lvalue, bits


def _code(t):
    return types.basic(t).code


def _is_ptr(v):
    return _code(v.type) == gdb.TYPE_CODE_PTR


def _is_int(v):
    return _code(v.type) in _INTS


def _ctype(t):
    """The C type a value of gdb.Type t is computed as."""
    b = types.basic(t)
    if b.code == gdb.TYPE_CODE_PTR:
        return "uintptr_t"
    if b.code == gdb.TYPE_CODE_BOOL:
        return "_Bool"
    if b.code in _INTS and b.sizeof in (1, 2, 4, 8):
        try:
            signed = b.is_signed
        except (AttributeError, ValueError):
            signed = b.code != gdb.TYPE_CODE_ENUM
        return f"{'' if signed else 'u'}int{8 * b.sizeof}_t"
    raise Uncompilable(f"a value of type {t} is not computed in the "
                       f"program (integers and pointers are)")


def _int_type(size=4, signed=True):
    names = {(1, True): "signed char", (1, False): "unsigned char",
             (2, True): "short", (2, False): "unsigned short",
             (4, True): "int", (4, False): "unsigned int",
             (8, True): "long", (8, False): "unsigned long"}
    return gdb.lookup_type(names[(size, signed)])


def _signed(t):
    try:
        return types.basic(t).is_signed
    except (AttributeError, ValueError):
        return True


def _field(t, name):
    """(field, bit offset) of member NAME of struct/union t, looking into
    anonymous members; None when it has none."""
    b = types.basic(t)
    if b.code not in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
        return None
    for f in b.fields():
        if f.name == name:
            return f, f.bitpos
        if f.name is None and types.is_aggregate(f.type):
            inner = _field(f.type, name)
            if inner:
                return inner[0], f.bitpos + inner[1]
    return None


def _function_block(addr):
    block = gdb.block_for_pc(addr)
    while block is not None and block.function is None:
        block = block.superblock
    if block is None:
        raise Uncompilable(f"no debug information for the function at "
                           f"{addr:#x}")
    return block


def parameters(addr):
    """[(name, gdb.Type)] of the function at addr, in order."""
    block = _function_block(addr)
    params = [(s.name, s.type) for s in block if s.is_argument]
    ftype = types.basic(block.function.type)
    if len(params) != len(ftype.fields()):
        raise Uncompilable(f"the parameters of {block.function.name} are "
                           f"not all in its debug information")
    return params


def _kdata():
    """[lo, hi) of the placeholders of kernel variables (dusk_kdata)."""
    try:
        return (int(gdb.parse_and_eval("(unsigned long)&__start_dusk_kdata")),
                int(gdb.parse_and_eval("(unsigned long)&__stop_dusk_kdata")))
    except gdb.error:
        return 0, 0


class Translator:
    """COND, a C expression over the arguments of the function at addr and
    the variables it sees, as the C of dusk_cond (source)."""

    def __init__(self, addr, text):
        self.text = text.strip()
        if "$" in self.text:
            raise Uncompilable("it uses gdb's convenience variables or "
                               "registers ($...)")
        self.block = _function_block(addr)
        self.fname = self.block.function.name
        self.params = {name: (i, t) for i, (name, t) in
                       enumerate(parameters(addr))}
        self.nparams = len(self.params)
        self._tmp = 0
        try:
            node = expr.parse(self.text, block=self.block)
        except gdb.GdbError as e:
            raise Uncompilable(str(e)) from None
        v = self._rvalue(self._emit(node))
        _ctype(v.type)          # a scalar
        self.source = _PRELUDE % v.text

    # ---- values ----------------------------------------------------------

    def _rvalue(self, v):
        """v's value: an object read (through env->read), an array as the
        address of its first element, a function as its address."""
        if not v.lvalue:
            return v
        b = types.basic(v.type)
        if b.code == gdb.TYPE_CODE_ARRAY:
            return _V(v.text, b.target().pointer())
        if b.code == gdb.TYPE_CODE_FUNC:
            return _V(v.text, v.type.pointer())
        if b.code in (gdb.TYPE_CODE_STRUCT, gdb.TYPE_CODE_UNION):
            raise Uncompilable(f"a whole {b} is not a value here")
        ct = _ctype(v.type)
        if v.bits:
            off, size = v.bits
            nbytes = (off + size + 7) // 8
            return _V(f"(({ct})dusk_bits(env, {v.text}, {nbytes}, {off}, "
                      f"{size}, {int(_signed(v.type))}))", v.type)
        return _V(f"DUSK_LOAD({ct}, {v.text})", v.type)

    def _tmpname(self):
        self._tmp += 1
        return f"_t{self._tmp}"

    def _type_of_name(self, text):
        try:
            return gdb.parse_and_eval(f"({text})0").type
        except gdb.error as e:
            raise Uncompilable(f"unknown type '{text}': {e}") from None

    # ---- nodes -----------------------------------------------------------

    def _emit(self, n):
        meth = getattr(self, "_" + type(n).__name__, None)
        if meth is None:
            raise Uncompilable(f"{type(n).__name__} is not compiled")
        return meth(n)

    def _ID(self, n):
        if n.name in self.params:
            i, t = self.params[n.name]
            return _V(f"(({_ctype(t)})args[{i}])", t)
        sym = gdb.lookup_symbol(n.name, self.block)[0]
        if sym is None:
            raise Uncompilable(f'no symbol "{n.name}" in {self.fname}')
        if sym.addr_class == gdb.SYMBOL_LOC_TYPEDEF:
            raise Uncompilable(f"'{n.name}' is a type, not a value")
        if sym.addr_class == gdb.SYMBOL_LOC_CONST:
            return _V(f"(({_ctype(sym.type)}){int(sym.value())})", sym.type)
        if sym.needs_frame:
            raise Uncompilable(f"'{n.name}' is a local variable of "
                               f"{self.fname}")
        try:
            addr = int(sym.value().address)
        except (gdb.error, TypeError) as e:
            raise Uncompilable(f"'{n.name}' has no address: {e}") from None
        lo, hi = _kdata()
        if lo <= addr < hi:
            raise Uncompilable(f"'{n.name}' is a kernel variable")
        return _V(f"((uintptr_t){addr:#x}ULL)", sym.type, lvalue=True)

    def _Constant(self, n):
        if n.type == "char":
            return _V(f"((int){n.value})", _int_type())
        if "int" not in n.type and "long" not in n.type:
            raise Uncompilable(f"a {n.type} constant ({n.value})")
        digits = n.value.rstrip("uUlL")
        try:
            val = int(digits, 8) if digits[:1] == "0" and \
                digits[1:2].isdigit() else int(digits, 0)
        except ValueError:
            raise Uncompilable(f"constant {n.value}") from None
        suffix = n.value[len(digits):].lower()
        return _V(f"({n.value})",
                  _int_type(8 if val >= 1 << 31 or "l" in suffix else 4,
                            "u" not in suffix))

    def _StructRef(self, n):
        base = self._emit(n.name)
        if n.type == "->":
            base = self._rvalue(base)
            if not _is_ptr(base):
                raise Uncompilable(f"'{expr_src(n.name)}' is not a pointer "
                                   f"(->)")
            struct = types.basic(base.type).target()
        else:
            if not base.lvalue:
                raise Uncompilable(f"'{expr_src(n.name)}' is not an object "
                                   f"(.)")
            struct = base.type
        f = _field(struct, n.field.name)
        if f is None:
            raise Uncompilable(f"there is no member named {n.field.name} "
                               f"in {types.basic(struct)}")
        field, bitpos = f
        addr = f"({base.text} + {bitpos // 8})"
        if field.bitsize:
            return _V(addr, field.type, True, (bitpos % 8, field.bitsize))
        return _V(addr, field.type, True)

    def _ArrayRef(self, n):
        base = self._emit(n.name)
        idx = self._rvalue(self._emit(n.subscript))
        if not _is_int(idx):
            raise Uncompilable(f"subscript '{expr_src(n.subscript)}' is "
                               f"not an integer")
        b = types.basic(base.type)
        if not (base.lvalue and b.code == gdb.TYPE_CODE_ARRAY):
            base = self._rvalue(base)
            if not _is_ptr(base):
                raise Uncompilable(f"'{expr_src(n.name)}' cannot be "
                                   f"subscripted")
        elem = types.basic(base.type).target()
        return _V(self._scaled(base.text, "+", idx.text, elem), elem, True)

    def _scaled(self, addr, op, idx, elem):
        size = max(types.basic(elem).sizeof, 1)
        return f"({addr} {op} (uintptr_t)((int64_t)({idx}) * {size}))"

    def _UnaryOp(self, n):
        op = n.op
        if op == "sizeof":
            if isinstance(n.expr, c_ast.Typename):
                t = self._type_of_name(expr_src(n.expr))
            else:
                t = self._emit(n.expr).type
            return _V(f"((uint64_t){types.basic(t).sizeof})",
                      _int_type(8, False))
        if op == "&":
            v = self._emit(n.expr)
            if not v.lvalue or v.bits:
                raise Uncompilable(f"cannot take the address of "
                                   f"'{expr_src(n.expr)}'")
            return _V(v.text, v.type.pointer())
        v = self._rvalue(self._emit(n.expr))
        if op == "*":
            if not _is_ptr(v):
                raise Uncompilable(f"'{expr_src(n.expr)}' is not a "
                                   f"pointer (*)")
            target = types.basic(v.type).target()
            if types.basic(target).code == gdb.TYPE_CODE_VOID:
                raise Uncompilable("dereferencing a void pointer")
            return _V(v.text, target, True)
        if op == "!":
            return _V(f"(!{v.text})", _int_type())
        if op in ("-", "+", "~") and _is_int(v):
            return _V(f"({op}{v.text})", v.type)
        raise Uncompilable(f"operator {op} on '{expr_src(n.expr)}'")

    def _Cast(self, n):
        t = self._type_of_name(expr_src(n.to_type))
        v = self._rvalue(self._emit(n.expr))
        return _V(f"(({_ctype(t)})({v.text}))", t)

    def _BinaryOp(self, n):
        op = n.op
        left = self._rvalue(self._emit(n.left))
        right = self._rvalue(self._emit(n.right))
        lp, rp = _is_ptr(left), _is_ptr(right)
        for v in (left, right):
            _ctype(v.type)
        if op in ("&&", "||"):
            return _V(f"({left.text} {op} {right.text})", _int_type())
        if op in _COMPARE:
            if lp or rp:
                return _V(f"((uintptr_t)({left.text}) {op} "
                          f"(uintptr_t)({right.text}))", _int_type())
            return _V(f"({left.text} {op} {right.text})", _int_type())
        if op == "+" and lp != rp:
            p, i = (left, right) if lp else (right, left)
            return _V(self._scaled(p.text, "+", i.text,
                                   types.basic(p.type).target()), p.type)
        if op == "-" and lp and not rp:
            return _V(self._scaled(left.text, "-", right.text,
                                   types.basic(left.type).target()),
                      left.type)
        if op == "-" and lp and rp:
            size = max(types.basic(types.basic(left.type).target()).sizeof,
                       1)
            return _V(f"((int64_t)({left.text} - {right.text}) / {size})",
                      _int_type(8))
        if lp or rp:
            raise Uncompilable(f"operator {op} on a pointer")
        t = self._arith(left.type, right.type) if op not in ("<<", ">>") \
            else left.type
        if op in ("/", "%"):
            return _V(self._divide(left.text, op, right.text), t)
        return _V(f"({left.text} {op} {right.text})", t)

    def _divide(self, a, op, b):
        """a / b or a % b that fails the evaluation instead of trapping."""
        ta, tb, tr = self._tmpname(), self._tmpname(), self._tmpname()
        minus = "-" if op == "/" else "0 *"
        return (f"({{ __auto_type {ta} = ({a}); __auto_type {tb} = ({b}); "
                f"__typeof__({ta} {op} {tb}) {tr} = 0; "
                f"if (!{tb}) env->fail(env, \"division by zero\"); "
                f"else if ((__typeof__({tr}))-1 < 0 && "
                f"(__typeof__({tr})){tb} == (__typeof__({tr}))-1) "
                f"{tr} = (__typeof__({tr}))({minus} "
                f"(unsigned long long){ta}); "
                f"else {tr} = {ta} {op} {tb}; {tr}; }})")

    @staticmethod
    def _arith(a, b):
        sa, sb = max(types.basic(a).sizeof, 4), max(types.basic(b).sizeof, 4)
        size = max(sa, sb)
        signed = (_signed(a) or sa < size) and (_signed(b) or sb < size)
        return _int_type(size, signed)

    def _TernaryOp(self, n):
        c = self._rvalue(self._emit(n.cond))
        a = self._rvalue(self._emit(n.iftrue))
        b = self._rvalue(self._emit(n.iffalse))
        if _is_ptr(a) or _is_ptr(b):
            return _V(f"({c.text} ? (uintptr_t)({a.text}) : "
                      f"(uintptr_t)({b.text}))", a.type if _is_ptr(a)
                      else b.type)
        return _V(f"({c.text} ? {a.text} : {b.text})",
                  self._arith(a.type, b.type))

    def _FuncCall(self, n):
        raise Uncompilable(f"'{expr_src(n.name)}(...)': function calls are "
                           f"not compiled")

    def _Assignment(self, n):
        raise Uncompilable("an assignment is not compiled")


def expr_src(n):
    from pycparser import c_generator
    return c_generator.CGenerator().visit(n)


def _compiler():
    cc = getattr(C, "HOST_CC", None) or os.environ.get("CC") or "cc"
    return shlex.split(cc)


def build(source):
    """The code of dusk_cond in SOURCE (bytes), compiled once a session
    (Uncompilable with the compiler's complaint)."""
    global _workdir
    if source in _built:
        return _built[source]
    if _workdir is None:
        _workdir = tempfile.TemporaryDirectory(prefix="dusk-gdb-cond-")
    name = hashlib.sha256(source.encode()).hexdigest()[:16]
    base = os.path.join(_workdir.name, name)
    with open(base + ".c", "w") as f:
        f.write(source)
    with open(base + ".ld", "w") as f:
        f.write(_LDSCRIPT)
    cmds = ([*_compiler(), *_CFLAGS, f"-Wl,-T,{base}.ld", "-o",
             base + ".elf", base + ".c"],
            ["objcopy", "-O", "binary", "-j", ".text", base + ".elf",
             base + ".bin"])
    for cmd in cmds:
        try:
            r = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=60)
        except (OSError, subprocess.TimeoutExpired) as e:
            raise Uncompilable(f"{cmd[0]}: {e}") from None
        if r.returncode:
            lines = [line for line in (r.stderr or r.stdout).splitlines()
                     if "error" in line] or (r.stderr or "failed").splitlines()
            raise Uncompilable(f"{os.path.basename(cmd[0])}: "
                               f"{lines[0].strip() if lines else 'failed'}")
    with open(base + ".bin", "rb") as f:
        code = f.read()
    if not code or len(code) > C.DUSK_DBG_COND_CODE_MAX:
        raise Uncompilable(f"{len(code)} bytes of code")
    _built[source] = code
    return code


def compile_condition(addr, text):
    """(code, nparams) of condition TEXT for the function at addr
    (Uncompilable)."""
    tr = Translator(addr, text)
    return build(tr.source), tr.nparams
