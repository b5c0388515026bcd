import subprocess
def test_enograce(target):
    for exe in ('/tmp/eg/klib-selftest', 'tests/runtime/klib/klib-selftest'):
        p = subprocess.run([exe, 'format'], env=target.env, text=True, capture_output=True, timeout=300)
        print(exe, p.returncode, p.stdout[-2000:], p.stderr[-500:])
    assert False, 'show'
