"""Sending speed and memory, with a baseline measured in the same run.

    python3 tests/bench/send.py [COUNT] [ATTACH_MIB]

Against aiosmtpd on loopback (tests/lib/smtpd.py), plain SMTP with AUTH:
- baseline: Python's smtplib sending COUNT small messages on one
  connection each (what the server and loopback cost);
- tern send: the same COUNT messages, one process each (queue in the
  store, send, file the Sent copy);
- tern compose with an ATTACH_MIB MiB attachment: wall time, tern's CPU
  time and peak memory (from wait4).

Not part of the test suite; needs a built tern (build/tern or $TERN).
"""

import base64
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "lib"))
from smtpd import Smtpd  # noqa: E402

TERN = os.environ.get("TERN", os.path.join(HERE, "..", "..", "build", "tern"))


def main():
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    mib = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    tmp = tempfile.mkdtemp(prefix="tern-bench-")
    server = Smtpd(user="alice", password="secret").start()
    try:
        os.makedirs(os.path.join(tmp, "config", "tern"))
        rc = os.path.join(tmp, "config", "tern", "rc")
        with open(rc, "w") as f:
            f.write("account acct\n    protocol pop3\n    host 127.0.0.1\n"
                    "    user alice\n    password secret\n    tls off\n"
                    "    smtp smtp://127.0.0.1:%d\n"
                    "    from \"Alice <alice@example.net>\"\n" % server.port)
        os.chmod(rc, 0o600)
        env = dict(os.environ, XDG_CONFIG_HOME=os.path.join(tmp, "config"),
                   XDG_DATA_HOME=os.path.join(tmp, "data"), HOME=tmp)
        msg = (b"From: alice@example.net\r\nTo: bob@example.org\r\n"
               b"Subject: bench\r\n\r\n" + b"a line of text\r\n" * 40)

        t0 = time.monotonic()
        for _ in range(count):
            with smtplib.SMTP("127.0.0.1", server.port) as s:
                s.login("alice", "secret")
                s.sendmail("alice@example.net", ["bob@example.org"], msg)
        base = time.monotonic() - t0

        t0 = time.monotonic()
        for _ in range(count):
            subprocess.run([TERN, "send"], input=msg, env=env, check=True)
        tern = time.monotonic() - t0
        print("%d small messages: smtplib %.1f ms each (baseline), "
              "tern send %.1f ms each" % (count, base / count * 1000,
                                          tern / count * 1000))

        big = os.path.join(tmp, "big.bin")
        with open(big, "wb") as f:
            f.write(os.urandom(mib * 1024 * 1024))
        editor = os.path.join(tmp, "edit.sh")
        with open(editor, "w") as f:
            f.write('sed -i "1a Attach: %s" "$1"\n' % big)
        env["EDITOR"] = env["VISUAL"] = "sh " + editor
        t0 = time.monotonic()
        p = subprocess.Popen([TERN, "compose", "bob@example.org"], env=env)
        _, status, ru = os.wait4(p.pid, 0)
        wall = time.monotonic() - t0
        if status != 0:
            raise SystemExit("tern compose failed")
        with open(big, "rb") as f:
            data = f.read()
        t0 = time.monotonic()
        with smtplib.SMTP("127.0.0.1", server.port) as s:
            s.login("alice", "secret")
            s.sendmail("alice@example.net", ["bob@example.org"],
                       msg + base64.encodebytes(data).replace(b"\n", b"\r\n"))
        base = time.monotonic() - t0
        print("%d MiB attachment: smtplib %.2f s for the same size "
              "(baseline); tern compose %.2f s wall, %.2f s CPU, %d MiB "
              "peak RSS" % (mib, base, wall, ru.ru_utime + ru.ru_stime,
                            ru.ru_maxrss // 1024))
    finally:
        server.cleanup()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
