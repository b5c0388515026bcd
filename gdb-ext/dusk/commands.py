# SPDX-License-Identifier: GPL-2.0
"""The "dusk" prefix command and what every dusk command shares: argument
splitting (gdb.string_to_argv: gdb's own quoting) and the rule that a
failure is one line (gdb.GdbError), never a Python traceback."""

import functools
import re

import gdb

# One word of a command line as gdb.string_to_argv delimits it: quoted
# parts ('...', "...") and backslash escapes may join blanks into it.
_WORD = re.compile(r"""\s*((?:\\.|'(?:\\.|[^'\\])*'?|"(?:\\.|[^"\\])*"?|"""
                   r"""[^\s'"\\])+)""")


def one_line_errors(invoke):
    """Wrap Command.invoke: any failure becomes a one-line gdb.GdbError."""
    @functools.wraps(invoke)
    def wrapper(self, arg, from_tty):
        try:
            return invoke(self, arg, from_tty)
        except gdb.GdbError:
            raise
        except KeyboardInterrupt:
            raise gdb.GdbError("interrupted") from None
        except gdb.MemoryError as e:
            raise gdb.GdbError(f"{self.name}: {e}") from None
        except gdb.error as e:
            raise gdb.GdbError(f"{self.name}: {e}") from None
        except Exception as e:     # a bug of ours: still one line
            raise gdb.GdbError(f"{self.name}: internal error: "
                               f"{type(e).__name__}: {e}") from None
    return wrapper


class DuskCommand(gdb.Command):
    """Base of the dusk subcommands: NAME is "dusk NAME"; subclasses
    define run(arg, from_tty); their docstring is gdb's help."""

    name = None
    command_class = gdb.COMMAND_USER
    completer = gdb.COMPLETE_NONE

    def __init__(self):
        super().__init__(f"dusk {self.name}", self.command_class,
                         self.completer)

    @one_line_errors
    def invoke(self, arg, from_tty):
        return self.run(arg.strip(), from_tty)

    def run(self, arg, from_tty):
        raise NotImplementedError

    def words(self, arg):
        """The arguments, split by gdb.string_to_argv."""
        return gdb.string_to_argv(arg)

    def options(self, arg, known):
        """(options, rest): the leading words of ARG that are among KNOWN
        ("-d"), as string_to_argv reads them ('-d' too), up to "--"; REST
        is what follows, as it was typed (an expression)."""
        opts = []
        while True:
            m = _WORD.match(arg)
            if not m:
                break
            word = gdb.string_to_argv(m.group(1))
            word = word[0] if len(word) == 1 else None
            if word == "--":
                arg = arg[m.end():]
                break
            if word not in known:
                break
            opts.append(word)
            arg = arg[m.end():]
        return opts, arg.strip()

    def first_word(self, arg):
        """(the first argument as string_to_argv reads it, or None; the
        rest of ARG as it was typed)."""
        m = _WORD.match(arg)
        if not m:
            return None, ""
        w = gdb.string_to_argv(m.group(1))
        return (w[0] if w else None), arg[m.end():].strip()

    def no_arguments(self, arg):
        if self.words(arg):
            self.usage()

    def usage(self):
        """Raise the one-line usage: the docstring's "Usage:" line."""
        for line in (self.__doc__ or "").splitlines():
            if line.strip().startswith("Usage:"):
                raise gdb.GdbError("usage: " +
                                   line.strip()[len("Usage:"):].strip())
        raise gdb.GdbError(f"dusk {self.name}: bad arguments")


class Dusk(gdb.Command):
    """dusk: debug a kernel module built by dusk-cc, against the live kernel.

The module runs at user level; the kernel objects it touches are mirrored
in the program's shadow cache and committed back to the kernel. These
commands show both sides and drive the cache:

  dusk break-hook NAME|all   stop in hooks and callbacks (file operations...)
  dusk print EXPR            an expression, the program's view and the kernel's
  dusk set EXPR = VALUE      change a kernel object in the shadow
  dusk commit [EXPR]         send the shadow's changes to the kernel now
  dusk refresh [EXPR]        forget cached kernel memory (read it again)
  dusk watch [-k] EXPR       stop when the module (-k: or the kernel) changes it
  dusk map                   the address map: kernel, user, size, type, state
  dusk kcalls [N]            the recent kernel calls, decoded
  dusk step-kcall            run to just before the next kernel call
  dusk status                target, kernel, session, hooks, invocations in flight
  dusk caller                the task that called the callback being served
  dusk uread ADDR [LEN]      a hexdump of the calling task's user memory
  dusk ksym NAME             a kernel symbol's address
  dusk kread ADDR [LEN]      a hexdump of live kernel memory
  dusk log [N]               the target kernel's log

Plain "print" shows sk_buff, nf_hook_state, net_device, file and inode
pointers decoded, and "step" steps over kernel calls (the runtime is
skipped)."""

    def __init__(self):
        super().__init__("dusk", gdb.COMMAND_USER, gdb.COMPLETE_COMMAND,
                         prefix=True)

    @one_line_errors
    def invoke(self, arg, from_tty):
        if arg.strip():
            raise gdb.GdbError(f'undefined dusk command: "{arg.strip()}". '
                               f'Try "help dusk".')
        gdb.execute("help dusk", from_tty)


def register():
    Dusk()


def parse_int(text, what):
    """An integer or a gdb expression giving one."""
    try:
        return int(text, 0)
    except ValueError:
        pass
    try:
        return int(gdb.parse_and_eval(text)) & ((1 << 64) - 1)
    except gdb.error as e:
        raise gdb.GdbError(f"bad {what} '{text}': {e}") from None
