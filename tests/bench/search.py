"""The search run of tests/bench/run (--search): the full-text index
beside the raw scan it replaced, on the POP3 benchmark corpus.

Two tern binaries are measured in the same run: the one under test, and
a baseline (--baseline PATH: a tern built before the index, whose search
reads every stored body). On Dovecot on 127.0.0.1, with the corpus of
tests/bench/corpus.py:

  POP3 download-and-delete of N messages (default 10,000), each binary
      in turn over R rounds after a warm-up read: wall time, peak RSS;
      the ratio of the medians is what the index costs a download (the
      bodies of a download are indexed after it: by the client in the
      background, or by the first tern search, which is timed apart)
  a store of M messages (default 100,000) downloaded once by each
      binary: its size on disk (database and packs) once searched (the
      index whole), and the index's own pages (dbstat)
  on those stores, each query R times after one untimed run, as
      `tern search bench/INBOX QUERY` from spawn to exit: a word in one
      message in fourteen, a word in about one in four hundred, and a
      pattern of three terms (the baseline knows no patterns: its cell
      is empty). The counts are printed beside the times, so that a
      search that finds nothing fast is seen for what it is.
"""

import os
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import benchlib  # noqa: E402
from benchlib import BenchError  # noqa: E402

QUERIES = [
    # (label, query, the baseline can answer it)
    ("one word (a sender's name, ~1 message in 14)", "tanaka", True),
    ("one word (an attachment's name, in one message)", None, True),
    ("three terms: ~f tanaka ~s rapport ~b budget",
     "~f tanaka ~s rapport ~b budget", False),
]
GOALS = {"search_s": 0.05, "index_share": 0.35, "pop3_ratio": 1.2}


def log(msg):
    print(msg, flush=True)


def store_bytes(home):
    total = 0
    for root, _, files in os.walk(os.path.join(home.t.data, "tern")):
        for f in files:
            total += os.path.getsize(os.path.join(root, f))
    return total


def index_bytes(home):
    """The pages of the full-text index's tables (None: no dbstat)."""
    db = sqlite3.connect(home.db)
    try:
        return db.execute("SELECT sum(pgsize) FROM dbstat WHERE name LIKE"
                          " 'fts%'").fetchone()[0]
    except sqlite3.Error:
        return None
    finally:
        db.close()


def attachment_name(corpus_dir, names):
    """The file name (without .pdf) of an attachment in the middle."""
    for n in names[len(names) // 2:]:
        with open(os.path.join(corpus_dir, n), "rb") as f:
            raw = f.read()
        k = raw.find(b'filename="r')
        if k >= 0:
            return raw[k + 10:raw.index(b".pdf", k)].decode()
    raise BenchError("no attachment in the corpus")


def fresh(dc, user, corpus_dir, names, tag, ceiling):
    benchlib.empty_maildir(dc, user)
    tag[0] += 1
    benchlib.deliver_new(dc, user, corpus_dir, names, tag[0])
    _, got, _ = benchlib.pop3_ceiling(ceiling, dc, user)
    if got != len(names):
        raise BenchError("the server lists %d messages, not %d"
                         % (got, len(names)))


def search(home, exe, query, runs):
    """(median secs, [secs], matches, first run's secs) of tern search
    bench/INBOX query."""
    argv = [exe, "search", "bench/INBOX", query]
    secs, count, first = [], None, None
    for r in range(runs + 1):
        t0 = time.monotonic()
        p = subprocess.run(argv, env=home.env, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        dt = time.monotonic() - t0
        if p.returncode not in (0, 1):
            raise BenchError("%s: exit %d: %s" % (
                " ".join(argv), p.returncode,
                p.stderr.decode(errors="replace")[-500:]))
        n = len(p.stdout.splitlines())
        if count is not None and n != count:
            raise BenchError("%s: %d matches, then %d" % (query, count, n))
        count = n
        if r > 0:
            secs.append(dt)
        else:
            first = dt
    return statistics.median(secs), secs, count, first


def main(a, argv, started, ternlib, describe, write_results, results_path):
    if not a.baseline or not os.access(a.baseline, os.X_OK):
        sys.exit("--search needs --baseline PATH: a tern built before the "
                 "search index (its search reads the stored bodies)")
    base = os.path.abspath(a.baseline)
    new = a.tern
    n_pop3 = a.search_pop3 or (2000 if a.quick else 10000)
    n_store = a.search_store or (10000 if a.quick else 100000)
    benchlib.need_packages()
    work = tempfile.mkdtemp(prefix="tern-search-bench-")
    os.chmod(work, 0o755)
    dc = None
    homes = []
    try:
        ceiling = benchlib.build_ceiling(work, "pop3-ceiling")
        corpus_dir = os.path.join(work, "corpus")
        log("generating %d messages (tests/bench/corpus.py, seed 1)"
            % max(n_pop3, n_store))
        names, nbytes, secs = benchlib.generate(corpus_dir,
                                                max(n_pop3, n_store))
        log("  %.0f MB in %.1f s" % (nbytes / 1e6, secs))
        dc = ternlib.Dovecot(users={"pop3": "bench"}).start()
        info = describe()
        tag = [0]
        # POP3 download-and-delete, alternating the two binaries.
        pop3 = {"baseline": [], "tern": []}
        rss = {"baseline": [], "tern": []}
        contenders = [("baseline", base), ("tern", new)]
        for r in range(a.runs + 1):
            order = contenders if r % 2 == 0 else contenders[::-1]
            for name, exe in order:
                fresh(dc, "pop3", corpus_dir, names[:n_pop3], tag, ceiling)
                s = benchlib.tern_pop3(dc, "pop3", n_pop3, exe, "off")
                log("  round %d %-8s POP3 %d: %.3f s %.1f MiB"
                    % (r, name, n_pop3, s.secs, s.rss or 0))
                if r > 0:  # round 0 warms Dovecot and the page cache
                    pop3[name].append(s.secs)
                    rss[name].append(s.rss or 0)
        # The big stores, one per binary, kept for the searches.
        stores = {}
        for name, exe in contenders:
            fresh(dc, "pop3", corpus_dir, names[:n_store], tag, ceiling)
            h = benchlib.TernHome(dc, "pop3", "pop3", "off", exe)
            homes.append(h)
            h.exe = exe
            s, out = h.sync()
            log("  %-8s downloaded %d: %.1f s (%s)" % (name, n_store,
                                                       s.secs, out))
            stores[name] = {"home": h, "download": s.secs}
        # tern search indexes what is missing first: one untimed search
        # in search() does it, so the figures are of the search alone.
        rows = []
        rare = attachment_name(corpus_dir, names[:n_store])
        for label, query, old in QUERIES:
            query = query or rare
            row = {"label": label, "query": query}
            for name, exe in contenders:
                if name == "baseline" and not old:
                    continue
                med, all_s, count, first = search(stores[name]["home"], exe,
                                                  query, a.runs)
                row[name] = (med, min(all_s), count)
                stores[name].setdefault("first", first)
                log("  %-8s %-45s %.4f s (best %.4f) %d matches"
                    % (name, query, med, min(all_s), count))
            rows.append(row)
        # Sizes once the index is whole (the first search filled it).
        for name, _ in contenders:
            h = stores[name]["home"]
            stores[name]["bytes"] = store_bytes(h)
            stores[name]["index"] = index_bytes(h) if name == "tern" \
                else None
        text = report(a, argv, started, info, n_pop3, n_store, pop3, rss,
                      stores, rows, base)
        print()
        print(text)
        if not a.no_write:
            write_results(results_path, "search", text)
    finally:
        for h in homes:
            h.cleanup()
        if dc is not None:
            dc.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def report(a, argv, started, info, n_pop3, n_store, pop3, rss, stores, rows,
           base):
    med = {k: statistics.median(v) for k, v in pop3.items()}
    ratio = med["tern"] / med["baseline"]
    best = min(pop3["tern"]) / min(pop3["baseline"])
    b, t = stores["baseline"]["bytes"], stores["tern"]["bytes"]
    idx = stores["tern"]["index"]
    out = []
    out.append("## Search (`tests/bench/run --search`)\n")
    out.append("Run %s UTC, %d rounds; `%s`; baseline `%s`.\n"
               % (started.strftime("%Y-%m-%d %H:%M"), a.runs,
                  " ".join(["tests/bench/run"] + argv), base))
    for k, v in info:
        out.append("- %s: %s" % (k, v))
    out.append("")
    out.append("| what | baseline (raw scan) | tern (full-text index) "
               "| goal |")
    out.append("|---|---:|---:|---|")
    out.append("| POP3 download-and-delete, %s messages, median (best) "
               "| %.3f s (%.3f) | %.3f s (%.3f), **%.2fx** (best %.2fx) "
               "| <= %.1fx |"
               % (format(n_pop3, ","), med["baseline"],
                  min(pop3["baseline"]), med["tern"], min(pop3["tern"]),
                  ratio, best, GOALS["pop3_ratio"]))
    out.append("| POP3 peak RSS | %.1f MiB | %.1f MiB | |"
               % (statistics.median(rss["baseline"]),
                  statistics.median(rss["tern"])))
    out.append("| download of the %s-message store (once) | %.1f s "
               "| %.1f s | |" % (format(n_store, ","),
                                 stores["baseline"]["download"],
                                 stores["tern"]["download"]))
    share = (t - b) / b
    out.append("| store on disk (database and packs) | %.1f MiB "
               "| %.1f MiB, **+%.1f%%** | <= +%d%% |"
               % (b / 2**20, t / 2**20, share * 100,
                  GOALS["index_share"] * 100))
    out.append("| the first search after the download (tern: it indexes "
               "the downloaded bodies first, once) | %.2f s | %.2f s | |"
               % (stores["baseline"]["first"], stores["tern"]["first"]))
    if idx is not None:
        out.append("| the index's own pages (dbstat) | | %.1f MiB, %.1f%% "
                   "of the baseline store | |"
                   % (idx / 2**20, idx / b * 100))
    for row in rows:
        cells = []
        for name in ("baseline", "tern"):
            if name in row:
                m, bst, c = row[name]
                cells.append("%.4f s (best %.4f), %d matches" % (m, bst, c))
            else:
                cells.append("(no patterns)")
        cells[1] = "**" + cells[1].replace(" (", "** (", 1) \
            if "**" not in cells[1] else cells[1]
        out.append("| `tern search` on %s: %s | %s | %s | <= %.0f ms |"
                   % (format(n_store, ","), row["label"], cells[0],
                      cells[1], GOALS["search_s"] * 1000))
    out.append("")
    out.append("Search times are `tern search ACCOUNT/INBOX QUERY` from "
               "spawn to exit (median of %d after one untimed run)."
               % a.runs)
    return "\n".join(out) + "\n"
