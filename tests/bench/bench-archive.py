"""Import and export speed of tern against Python's mailbox module reading
the same mbox (the baseline), measured in the same run.

    python3 tests/bench/bench-archive.py [N]    (TERN=build/tern by default)
"""

import mailbox
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import ternlib  # noqa: E402


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
    t = ternlib.Tern()
    try:
        src = os.path.join(t.dir, "src.mbox")
        body = "".join("line %d of a body, From time to time\n" % i
                       for i in range(40))
        mb = mailbox.mbox(src)
        for i in range(n):
            mb.add(ternlib.make_message(i, body=body))
        mb.flush()
        mb.close()
        size = os.path.getsize(src) / 1048576.0

        t0 = time.time()
        mb = mailbox.mbox(src)
        count = sum(1 for _ in mb)
        mb.close()
        base = time.time() - t0

        t0 = time.time()
        t.out("import", "local/Bench", src)
        imp = time.time() - t0
        t0 = time.time()
        t.out("import", "local/Bench", src)
        dup = time.time() - t0
        t0 = time.time()
        t.out("export", "local/Bench", "--mbox",
              os.path.join(t.dir, "out.mbox"))
        exp = time.time() - t0
        t0 = time.time()
        t.out("export", "local/Bench", "--maildir", os.path.join(t.dir, "md"))
        mdx = time.time() - t0
        print("%d messages, %.1f MiB mbox" % (count, size))
        print("baseline: Python mailbox reads it in %.2f s" % base)
        print("tern import:            %.2f s (%.0f msg/s)" % (imp, n / imp))
        print("tern import again:      %.2f s (all duplicates)" % dup)
        print("tern export --mbox:     %.2f s" % exp)
        print("tern export --maildir:  %.2f s" % mdx)
    finally:
        t.cleanup()


if __name__ == "__main__":
    main()
