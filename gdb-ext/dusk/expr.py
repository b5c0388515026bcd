# SPDX-License-Identifier: GPL-2.0
"""C expressions of the module's source, evaluated through the cache.

gdb cannot read kernel addresses in the program: they are not mapped
there ("print skb->mark" faults); the program itself reads them through
its shadow cache. So an expression is parsed (pycparser, with the
typedefs it names declared from gdb's own type lookup) and every
dereference through a pointer - p->f, *p, p[i] on a pointer - is
rewritten, then gdb evaluates the result:

  shadow side   p->f  ->  $dusk(p)->f         (a pointer into the mirror,
                *p    ->  (*$dusk(p))          fetched by the runtime as
                p[i]  ->  (*$dusk((p) + (i)))  the module's own access)
  kernel side   p->f  ->  $dusk_kernel(p).f   (the object's live bytes,
                *p    ->  $dusk_kernel(p)      read around the cache)
                p[i]  ->  $dusk_kernel((p) + (i))

An address is never a dereference: &p->f stays plain pointer arithmetic
on the kernel pointer (only what is read to compute p is rewritten), so
&skb->mark is the kernel address. sizeof is left alone. The left side of
an assignment ("dusk set") is fetched for writing ($dusk_w), which marks
its lines dirty for the next commit.

Array subscripts of arrays, struct members (.), casts, arithmetic and
comparisons pass through; function calls are refused (a kernel function
runs only in the kernel), as are ++ and --.
"""

import re

import gdb
from pycparser import c_ast, c_parser, plyparser

from . import types

SHADOW, KERNEL = "shadow", "kernel"

_C_KEYWORDS = frozenset("""
    auto break case char const continue default do double else enum extern
    float for goto if inline int long register restrict return short signed
    sizeof static struct switch typedef union unsigned void volatile while
    _Bool _Complex __int128 __typeof__ typeof __attribute__""".split())

_ASSIGN_OPS = ("=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=",
               ">>=")

_parser = None


def _cparser():
    global _parser
    if _parser is None:
        _parser = c_parser.CParser()
    return _parser


def _typedef_names(text, skip=(), block=None):
    """The names TEXT uses that are types (u32, __be16), to be declared
    for pycparser: not keywords, struct tags, names in SKIP, nor
    variables, functions or enumerators (seen from BLOCK, or from where
    the program stopped)."""
    tags = set(re.findall(r"\b(?:struct|union|enum)\s+([A-Za-z_]\w*)",
                          text))
    names = []
    for name in sorted(set(re.findall(r"\b[A-Za-z_]\w*\b", text))):
        if name in _C_KEYWORDS or name in tags or name in skip:
            continue
        try:
            sym = (gdb.lookup_symbol(name, block) if block is not None
                   else gdb.lookup_symbol(name))[0]
        except gdb.error:
            sym = None
        if sym is not None and sym.addr_class != gdb.SYMBOL_LOC_TYPEDEF:
            continue        # a variable, function or enumerator
        if types.lookup(name) is not None:
            names.append(name)
    return names


def parse(text, shown=None, skip=(), block=None):
    """The pycparser node of C expression TEXT (gdb.GdbError naming SHOWN,
    the text as the user wrote it, when it is not one)."""
    shown = text if shown is None else shown
    decls = "".join(f"typedef int {t};\n"
                    for t in _typedef_names(text, skip, block))
    src = f"{decls}void __dusk_expr(void)\n{{\n{text}\n;}}\n"
    try:
        ast = _cparser().parse(src, "EXPR")
    except (plyparser.ParseError, AssertionError) as e:
        msg = str(e)
        msg = re.sub(r"^EXPR:\d+:\d+: ", "", msg)
        raise gdb.GdbError(f"cannot parse '{shown}': {msg}") from None
    body = ast.ext[-1].body.block_items or []
    if len(body) != 1 or isinstance(body[0], c_ast.Decl) or \
            not isinstance(body[0], c_ast.Node):
        raise gdb.GdbError(f"'{shown}' is not one C expression")
    return body[0]


class Expr:
    """One expression: parsed once, rewritten per side on demand."""

    def __init__(self, text, assignment=False):
        self.text = text.strip()
        if not self.text:
            raise gdb.GdbError("no expression given")
        self._vars = {}
        self.node = self._parse(self._hide_convenience(self.text))
        if isinstance(self.node, c_ast.Assignment) != assignment:
            raise gdb.GdbError(
                "expected EXPR = VALUE" if assignment else
                "this is an assignment: use 'dusk set EXPR = VALUE'")
        self._typecache = {}
        self.kernel_access = False      # does it read through a pointer?
        self._shadow = self._emit(self.node, SHADOW)
        self._kernel = None

    # ---- parsing ----------------------------------------------------------

    def _hide_convenience(self, text):
        """$foo and $1 (gdb's variables, registers, history) as identifiers
        pycparser takes."""
        def repl(m):
            ident = f"__dusk_var_{len(self._vars)}"
            self._vars[ident] = m.group(0)
            return ident
        return re.sub(r"\$\$?\w*", repl, text)

    def _parse(self, text):
        return parse(text, self.text, skip=self._vars)

    # ---- types --------------------------------------------------------------

    def type_of(self, n):
        key = id(n)
        if key not in self._typecache:
            self._typecache[key] = self._type_of(n)
        return self._typecache[key]

    def _var_value(self, name):
        if name in self._vars:
            return gdb.parse_and_eval(self._vars[name])
        return gdb.parse_and_eval(name)

    def _type_of(self, n):
        if isinstance(n, c_ast.ID):
            if n.name in self._vars:
                return self._var_value(n.name).type
            try:
                sym = gdb.lookup_symbol(n.name)[0]
            except gdb.error:
                sym = None
            if sym is None:
                raise gdb.GdbError(f'no symbol "{n.name}" in current context')
            if sym.addr_class == gdb.SYMBOL_LOC_TYPEDEF:
                raise gdb.GdbError(f"'{n.name}' is a type, not a value")
            return sym.type
        if isinstance(n, c_ast.Constant):
            if n.type == "string":
                return gdb.lookup_type("char").pointer()
            if n.type == "char":
                return gdb.lookup_type("char")
            if n.type in ("float", "double"):
                return gdb.lookup_type("double")
            return gdb.lookup_type("long")
        if isinstance(n, c_ast.StructRef):
            t = types.basic(self.type_of(n.name))
            if n.type == "->":
                if t.code not in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_ARRAY):
                    raise gdb.GdbError(
                        f"'{self._src(n.name)}' is not a pointer (->)")
                t = t.target()
            f = types.find_field(t, n.field.name)
            if f is None:
                raise gdb.GdbError(
                    f"there is no member named {n.field.name} in "
                    f"'{self._src(n.name)}' ({t})")
            return f[0].type
        if isinstance(n, c_ast.ArrayRef):
            t = types.basic(self.type_of(n.name))
            if t.code in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_ARRAY):
                return t.target()
            raise gdb.GdbError(f"'{self._src(n.name)}' cannot be subscripted")
        if isinstance(n, c_ast.UnaryOp):
            if n.op == "sizeof":
                return gdb.lookup_type("unsigned long")
            if n.op in ("++", "--", "p++", "p--"):
                raise gdb.GdbError("++ and -- are not allowed here")
            t = self.type_of(n.expr)
            if n.op == "*":
                b = types.basic(t)
                if b.code not in (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_ARRAY):
                    raise gdb.GdbError(
                        f"'{self._src(n.expr)}' is not a pointer (*)")
                return b.target()
            if n.op == "&":
                return t.pointer()
            if n.op == "!":
                return gdb.lookup_type("int")
            return t
        if isinstance(n, c_ast.Cast):
            return self._cast_type(n.to_type)
        if isinstance(n, c_ast.BinaryOp):
            lt, rt = self.type_of(n.left), self.type_of(n.right)
            lb, rb = types.basic(lt), types.basic(rt)
            ptrs = (gdb.TYPE_CODE_PTR, gdb.TYPE_CODE_ARRAY)
            if n.op in ("+", "-"):
                if lb.code in ptrs and rb.code in ptrs:
                    return gdb.lookup_type("long")
                if lb.code in ptrs:
                    return lb.target().pointer()
                if rb.code in ptrs:
                    return rb.target().pointer()
            if n.op in ("==", "!=", "<", ">", "<=", ">=", "&&", "||"):
                return gdb.lookup_type("int")
            return lt
        if isinstance(n, c_ast.TernaryOp):
            return self.type_of(n.iftrue)
        if isinstance(n, c_ast.Assignment):
            return self.type_of(n.lvalue)
        if isinstance(n, c_ast.FuncCall):
            raise gdb.GdbError(
                f"'{self._src(n.name)}(...)': function calls are not "
                f"evaluated here (kernel functions run in the kernel)")
        raise gdb.GdbError(f"unsupported in an expression: "
                           f"{type(n).__name__}")

    def _cast_type(self, typename):
        text = self._src(typename)
        try:
            return gdb.parse_and_eval(f"({text})0").type
        except gdb.error as e:
            raise gdb.GdbError(f"unknown type '{text}': {e}") from None

    # ---- rewriting ------------------------------------------------------------

    def _src(self, n):
        """n as gdb's C (unrewritten)."""
        return self._emit(n, None)

    def _deref(self, ptr_text, side, write, field=None):
        if side == SHADOW:
            fn = "$dusk_w" if write else "$dusk"
            return f"{fn}({ptr_text})->{field}" if field else \
                f"(*{fn}({ptr_text}))"
        return f"$dusk_kernel({ptr_text}).{field}" if field else \
            f"$dusk_kernel({ptr_text})"

    def _emit(self, n, side, write=False):
        """Text for gdb. side: SHADOW, KERNEL, or None (as written)."""
        e = lambda x, w=False: self._emit(x, side, w)  # noqa: E731
        if isinstance(n, c_ast.ID):
            return self._vars.get(n.name, n.name)
        if isinstance(n, c_ast.Constant):
            return n.value
        if isinstance(n, c_ast.StructRef):
            field = n.field.name
            if n.type == "->":
                if side is None:
                    return f"({e(n.name)})->{field}"
                self.kernel_access = True
                return self._deref(e(n.name), side, write, field)
            return f"({e(n.name, write)}).{field}"
        if isinstance(n, c_ast.ArrayRef):
            if side is not None and \
                    types.basic(self.type_of(n.name)).code == \
                    gdb.TYPE_CODE_PTR:
                self.kernel_access = True
                return self._deref(f"({e(n.name)}) + ({e(n.subscript)})",
                                   side, write)
            return f"({e(n.name, write)})[{e(n.subscript)}]"
        if isinstance(n, c_ast.UnaryOp):
            if n.op == "sizeof":
                return f"sizeof({self._src(n.expr)})"
            if n.op in ("++", "--", "p++", "p--"):
                raise gdb.GdbError("++ and -- are not allowed here")
            if n.op == "*":
                self.type_of(n.expr)    # check it is a pointer
                if side is None:
                    return f"(*{e(n.expr)})"
                self.kernel_access = True
                return self._deref(e(n.expr), side, write)
            if n.op == "&":
                return self._address(n.expr, side)
            return f"({n.op}{e(n.expr)})"
        if isinstance(n, c_ast.Cast):
            return f"(({self._src_type(n.to_type)})({e(n.expr)}))"
        if isinstance(n, c_ast.BinaryOp):
            return f"({e(n.left)} {n.op} {e(n.right)})"
        if isinstance(n, c_ast.TernaryOp):
            return f"({e(n.cond)} ? {e(n.iftrue)} : {e(n.iffalse)})"
        if isinstance(n, c_ast.Assignment):
            if n.op not in _ASSIGN_OPS:
                raise gdb.GdbError(f"unsupported assignment {n.op}")
            return f"{e(n.lvalue, True)} {n.op} ({e(n.rvalue)})"
        if isinstance(n, c_ast.Typename):
            return self._src_type(n)
        if isinstance(n, c_ast.FuncCall):
            self.type_of(n)     # refuses
        raise gdb.GdbError(f"unsupported in an expression: "
                           f"{type(n).__name__}")

    def source(self, n):
        """n as the user would write it (for messages)."""
        from pycparser import c_generator
        text = c_generator.CGenerator().visit(n)
        for ident, var in self._vars.items():
            text = re.sub(rf"\b{ident}\b", lambda m: var, text)
        return text

    def _src_type(self, typename):
        from pycparser import c_generator
        return c_generator.CGenerator().visit(typename)

    def _address(self, n, side):
        """&n: its address, computed without reading the object itself."""
        e = lambda x: self._emit(x, side)  # noqa: E731
        if isinstance(n, c_ast.StructRef):
            if n.type == "->":
                return f"(&({e(n.name)})->{n.field.name})"
            return f"(&(*{self._address(n.name, side)}).{n.field.name})"
        if isinstance(n, c_ast.ArrayRef):
            if types.basic(self.type_of(n.name)).code == gdb.TYPE_CODE_PTR:
                return f"(({e(n.name)}) + ({e(n.subscript)}))"
            return f"(&(*{self._address(n.name, side)})[{e(n.subscript)}])"
        if isinstance(n, c_ast.UnaryOp) and n.op == "*":
            return e(n.expr)
        if isinstance(n, c_ast.ID):
            return f"(&{self._vars.get(n.name, n.name)})"
        raise gdb.GdbError(f"cannot take the address of '{self._src(n)}'")

    # ---- evaluation -------------------------------------------------------------

    @property
    def type(self):
        return self.type_of(self.node)

    def text_for(self, side):
        if side == SHADOW:
            return self._shadow
        if self._kernel is None:
            self._kernel = self._emit(self.node, KERNEL)
        return self._kernel

    def value(self, side=SHADOW):
        text = self.text_for(side)
        try:
            v = gdb.parse_and_eval(text)
            v.fetch_lazy()
            return v
        except gdb.MemoryError as e:
            raise gdb.GdbError(f"{self.text}: {e}") from None
        except gdb.error as e:
            raise gdb.GdbError(f"{self.text}: {e}") from None

    def address(self):
        """(address, size) of the object the expression denotes - for a
        pointer, of the object it points to (&p->f for the field p->f
        itself) - with the kernel's addresses."""
        t = types.basic(self.type)
        if t.code == gdb.TYPE_CODE_PTR:
            size = types.basic(t.target()).sizeof
            text = self._shadow
        else:
            size = t.sizeof
            text = self._address(self.node, SHADOW)
        return self._int(text), max(size, 1)

    def _int(self, text):
        """The address text (this expression's rewritten) evaluates to."""
        try:
            return int(gdb.parse_and_eval(text))
        except gdb.error as e:
            raise gdb.GdbError(f"{self.text}: {e}") from None

    def location(self):
        """(address, size) of the object the expression is itself (an
        lvalue: for a pointer, the pointer), with the kernel's addresses:
        skb->dev gives &skb->dev."""
        n = self.node
        if isinstance(n, c_ast.StructRef):
            t = types.basic(self.type_of(n.name))
            f = types.find_field(t.target() if n.type == "->" else t,
                                 n.field.name)
            if f is not None and f[0].bitsize:
                raise gdb.GdbError(f"{self.text} is a bit-field: it has no "
                                   f"address of its own")
        size = max(types.basic(self.type).sizeof, 0)
        addr = self._int(self._address(self.node, SHADOW))
        return addr & ((1 << 64) - 1), size
