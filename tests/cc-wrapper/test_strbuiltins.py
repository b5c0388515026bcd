"""dusk-cc and the string builtins GCC folds or lowers after dusk's pass:
each ends in libdusk (which writes through the shadow cache), never in a
kernel call made without its arguments."""
import re
import subprocess

from test_dusk_cc import dusk_cc, module, work_dir

STRINGS = '''
    #include <linux/string.h>
    char *kbuf;
    void lit(void) { sprintf(kbuf, "hello"); }
    void pct_s(const char *s) { sprintf(kbuf, "%s", s); }
    void ncpy(const char *s) { strncpy(kbuf, s, 5); }
    void cpy(const char *s) { strcpy(kbuf, s); }
    void cat(const char *s) { strcat(kbuf, s); }
    void ncat(const char *s) { strncat(kbuf, s, 3); }
    void set64(u64 *p) { memset64(p, 5, 3); }
'''


def test_lowered_string_builtins_reach_libdusk(tmp_path):
    """sprintf is not folded into stores or a strcpy on an unchecked
    kernel pointer; what strncpy, strcpy, strcat, strncat are lowered to
    is libdusk's; memset64's "rep stos" asm is not run on a pointer no
    check saw."""
    d = module(tmp_path, 'strs', STRINGS)
    p = dusk_cc('--keep', '-M', d, '-o', tmp_path / 'strs-prog')
    work = work_dir(p.stderr)
    assert p.returncode == 0, p.stderr
    renamed = dict(line.split() for line in
                   (work / 'rename.map').read_text().splitlines())
    for fn in ('strncpy', 'strcpy', 'strcat', 'strncat'):
        assert renamed.get(fn) == f'__dusk_impl_{fn}', renamed
    assert not any(v.startswith('__dusk_k_') for v in renamed.values()), \
        renamed
    dis = subprocess.run(['objdump', '-dr', str(work / 'user' / 'strs.o')],
                         capture_output=True, text=True, check=True).stdout
    funcs = dict(re.findall(r'^[0-9a-f]+ <(\w+)>:\n(.*?)(?=\n\n|\Z)', dis,
                            re.S | re.M))
    for fn in ('lit', 'pct_s'):
        assert '__dusk_impl_sprintf' in funcs[fn], funcs[fn]
        assert 'strcpy' not in funcs[fn] and 'movl   $0x' not in funcs[fn]
    assert '__dusk_impl_memset64' in funcs['set64']
    assert 'stos' not in funcs['set64'], funcs['set64']
    subprocess.run(['rm', '-rf', str(work)])

