#!/usr/bin/env python3
# bash-readline.py COMPLETION LINE WANT: types LINE and a tab into an
# interactive bash on a pseudo-terminal, with COMPLETION sourced, and
# exits 0 once WANT shows on the terminal, 1 if it does not within 10 s.
# What bash's complete builtin cannot show: how readline puts the
# reply on the line (quotes, = and : completed in place).
import os, pty, select, sys, time

comp, line, want = sys.argv[1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp("bash", ["bash", "--norc", "--noprofile", "-i"])

def wait_for(text, seconds=10):
    out, end = b"", time.time() + seconds
    while time.time() < end:
        if select.select([fd], [], [], 0.1)[0]:
            try:
                out += os.read(fd, 4096)
            except OSError:
                break
            if text.encode() in out:
                return True
    sys.stderr.write(repr(out) + "\n")
    return False

os.write(fd, b"PS1='$ '; . '" + comp.encode() + b"'; echo RE''ADY\n")
ok = wait_for("READY") and (os.write(fd, line.encode() + b"\t") and
                            wait_for(want))
os.kill(pid, 9)
sys.exit(0 if ok else 1)
