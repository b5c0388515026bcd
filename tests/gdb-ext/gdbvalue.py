# SPDX-License-Identifier: GPL-2.0
"""What gdb prints, read back as data: a value as "print" shows it
(members by name), and the records of gdb's MI (what IDEs read).

The tests compare values, not text: the same member read by plain
"print" and by "dusk print" must be the same number, whatever each
command's format."""

import re

# 12, -1, 0x1f <sym>, 0 '\000', (unsigned char *) 0xff... "E\021", and a
# pointer dusk's printer decodes: 0xff... {lo}
SCALAR = re.compile(r"^(?:\([^()]*\) )?(-?(?:0x[0-9a-f]+|\d+))"
                    r"(?: <[^>]*>| '.*'| \".*| \{.*\})?$")


def number(text):
    """The number a printed scalar holds (a pointer with its <symbol>, a
    char with its character, true/false), or the text itself (an
    enumerator, a string)."""
    text = text.strip()
    if text in ("true", "false"):
        return int(text == "true")
    m = SCALAR.match(text)
    if not m:
        return text
    return int(m.group(1), 0)


# ---- "print" ----------------------------------------------------------------

class _Reader:
    def __init__(self, text):
        self.text, self.i = text, 0

    def peek(self, s):
        return self.text.startswith(s, self.i)

    def expect(self, s):
        if not self.peek(s):
            raise ValueError(f"expected {s!r} at {self.i}: "
                             f"{self.text[self.i:self.i + 40]!r}")
        self.i += len(s)

    def scalar(self):
        """Text up to the next "," or "}" outside quotes and braces."""
        start, depth, quote = self.i, 0, None
        while self.i < len(self.text):
            c = self.text[self.i]
            if quote:
                if c == "\\":
                    self.i += 1
                elif c == quote:
                    quote = None
            elif c in "\"'":
                quote = c
            elif c == "{":
                depth += 1
            elif c == "}":
                if depth == 0:
                    break
                depth -= 1
            elif c == "," and depth == 0:
                # A char array's pieces: "ab", '\000' <repeats 9 times>
                if not self.text.startswith((", \"", ", '"), self.i):
                    break
            self.i += 1
        return self.text[start:self.i].strip()


NAME = re.compile(r"([A-Za-z_]\w*|\[\d+\]) = ")


REPEATS = re.compile(r" <repeats \d+ times>")


def _value(r):
    if r.peek("{"):
        v = _aggregate(r)
        m = REPEATS.match(r.text, r.i)      # {first = 0x0} <repeats 16 times>
        if m:
            r.i = m.end()
        return v
    return r.scalar()


def _aggregate(r):
    """[(name or None, value)]: a struct's members or an array's
    elements."""
    r.expect("{")
    items = []
    while not r.peek("}"):
        m = NAME.match(r.text, r.i)
        name = None
        if m:
            name = m.group(1)
            r.i = m.end()
        items.append((name, _value(r)))
        if r.peek(", "):
            r.i += 2
        elif not r.peek("}"):
            raise ValueError(f"expected ', ' or '}}' at {r.i}: "
                             f"{r.text[r.i:r.i + 40]!r}")
    r.expect("}")
    return items


def parse(text):
    """A printed value: a str for a scalar, [(name, value)] for an
    aggregate."""
    r = _Reader(text.strip())
    v = _value(r)
    if r.i != len(r.text):
        raise ValueError(f"trailing text at {r.i}: {r.text[r.i:]!r}")
    return v


def members(text):
    """{"a.b": scalar text} of a printed struct: nested members by their
    path, anonymous structs' and unions' members in their place (as C
    reaches them, as "dusk print" names them); arrays are kept whole (a
    list)."""
    out = {}

    def walk(items, prefix):
        for name, v in items:
            if name is None:
                if isinstance(v, list):
                    walk(v, prefix)
                continue
            if isinstance(v, list) and v and v[0][0] is not None:
                walk(v, f"{prefix}{name}.")
            else:
                out[prefix + name] = v
    v = parse(text)
    if not isinstance(v, list):
        raise ValueError(f"not a struct: {text[:60]!r}")
    walk(v, "")
    return out


def dusk_rows(out):
    """{member: (shadow, kernel)} of "dusk print"'s table of a struct."""
    rows = {}
    header = re.search(r"^    field( *)  shadow +  kernel$", out, re.M)
    assert header, out
    width = len("field") + len(header.group(1))
    for line in out[header.end() + 1:].splitlines():
        if not re.match(r"^  [* ] ", line):
            break
        name = line[4:].split(" ", 1)[0]     # a longer name shifts the rest
        rest = line[4 + max(width, len(name)) + 2:]
        # The shadow's text is padded to 26 columns, then 2 blanks; a
        # longer one is followed by 2 blanks (values hold single blanks).
        if rest[26:28] == "  ":
            s, k = rest[:26], rest[28:]
        else:
            cut = rest.find("  ", 26)
            s, k = (rest, "") if cut < 0 else (rest[:cut], rest[cut + 2:])
        rows[name] = (s.rstrip(), k.strip())
    return rows


# ---- MI ---------------------------------------------------------------------

_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\",
            "a": "\a", "b": "\b", "f": "\f", "v": "\v", "e": "\x1b"}


def _mi_string(r):
    r.expect('"')
    out = []
    while not r.peek('"'):
        c = r.text[r.i]
        if c == "\\":
            r.i += 1
            e = r.text[r.i]
            if e in "01234567":
                m = re.match(r"[0-7]{1,3}", r.text[r.i:])
                out.append(chr(int(m.group(0), 8)))
                r.i += len(m.group(0))
                continue
            out.append(_ESCAPES.get(e, e))
        else:
            out.append(c)
        r.i += 1
    r.expect('"')
    return "".join(out)


MI_NAME = re.compile(r"[A-Za-z_][\w-]*=")


def _mi_value(r):
    if r.peek('"'):
        return _mi_string(r)
    if r.peek("{"):
        r.expect("{")
        out = {}
        while not r.peek("}"):
            k, v = _mi_result(r)
            out[k] = v
            if r.peek(","):
                r.i += 1
        r.expect("}")
        return out
    r.expect("[")
    out = []
    while not r.peek("]"):
        if MI_NAME.match(r.text, r.i):
            out.append(_mi_result(r)[1])     # frame={...},frame={...}
        else:
            out.append(_mi_value(r))
        if r.peek(","):
            r.i += 1
    r.expect("]")
    return out


def _mi_result(r):
    m = MI_NAME.match(r.text, r.i)
    if not m:
        raise ValueError(f"expected NAME= at {r.i}: {r.text[r.i:r.i + 40]!r}")
    r.i = m.end()
    return m.group(0)[:-1], _mi_value(r)


MI_RECORD = re.compile(r"^(\d*)([\^*+=])([\w-]+)")


def mi_record(line):
    """(token or None, kind ^*+=, class, {results}) of an MI result or
    async record; ValueError for anything else."""
    m = MI_RECORD.match(line)
    if not m:
        raise ValueError(f"not an MI record: {line!r}")
    r = _Reader(line)
    r.i = m.end()
    results = {}
    while r.peek(","):
        r.i += 1
        k, v = _mi_result(r)
        results[k] = v
    if r.i != len(line):
        raise ValueError(f"trailing text at {r.i}: {line[r.i:]!r}")
    return (int(m.group(1)) if m.group(1) else None, m.group(2),
            m.group(3), results)


def mi_stream(line):
    """The text of an MI stream record (~"..." console, @ target, & log)."""
    r = _Reader(line)
    r.i = 1
    return _mi_string(r)
