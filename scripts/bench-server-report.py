#!/usr/bin/env python3
"""Renders scripts/bench-server's raw figures as a markdown fragment.

usage: bench-server-report.py RAW_DIR ELAPSED_S STREAMS RUNS DURATION
"""

import gzip
import json
import os
import platform
import statistics
import sys
from pathlib import Path

RAW = Path(sys.argv[1])
ELAPSED_S = int(sys.argv[2])
STREAMS = int(sys.argv[3])
RUNS = int(sys.argv[4])
DURATION = sys.argv[5]

P99_TARGET_MS = 5.0
STREAMS_TARGET = 10_000
KIB_PER_STREAM_TARGET = 20.0


def read(path, default=""):
    try:
        return (RAW / path).read_text().strip()
    except OSError:
        return default


def median(xs):
    return statistics.median(xs) if xs else float("nan")


def spread(xs, fmt):
    if not xs:
        return "—"
    return f"{fmt(min(xs))} – {fmt(max(xs))}"


def ms(x):
    return f"{x:.2f} ms"


def met(ok):
    return "**met**" if ok else "**missed**"


def machine():
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = "?"
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem_gib = f"{int(line.split()[1]) / 1024 / 1024:.0f}"
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} cores, {mem_gib} GiB, Linux {platform.release()}"


out = []
p = out.append

p("## latchd under load, hot paths and the UI bundle (issue 7, items 4–6)")
p("")
p(
    f"Machine: {machine()}. **Shared and noisy**: other work may run on the same 2 cores "
    f"(load average {read('loadavg-start').split(' ')[0]} at "
    f"the start, {read('loadavg-end').split(' ')[0]} at the end), so every figure is a "
    f"median with its spread, and load-dependent ones are {RUNS} runs. Release build of "
    f"latchd (`cargo build --release -p latchd`), commit {read('commit')}; "
    f"`scripts/bench-server` took {ELAPSED_S // 60} min {ELAPSED_S % 60} s. Raw figures are "
    f"beside this file in `server/`."
)
p("")

# ------------------------------------------------------------------ load
max_runs = sorted(RAW.glob("load-max-*.json"))
fixed_runs = sorted(RAW.glob("load-1000-*.json"))
if max_runs or fixed_runs:

    def load(paths):
        runs = []
        for path in paths:
            j = json.loads(path.read_text())
            pct = j["latencyPercentiles"]
            codes = j.get("statusCodeDistribution", {})
            runs.append(
                {
                    "rps": j["summary"]["requestsPerSec"],
                    "p50": pct["p50"] * 1e3,
                    "p99": pct["p99"] * 1e3,
                    "p999": pct["p99.9"] * 1e3,
                    "max": j["summary"]["slowest"] * 1e3,
                    "ok": codes.get("200", 0),
                    # oha cuts the requests in flight when -z ends: not errors.
                    "total": sum(codes.values())
                    + sum(
                        n
                        for why, n in j.get("errorDistribution", {}).items()
                        if "aborted due to deadline" not in why
                    ),
                }
            )
        return runs

    mx, fx = load(max_runs), load(fixed_runs)
    body = RAW / "sessions-body.json"
    size = body.stat().st_size if body.exists() else 0
    p(f"### `GET /v1/sessions`, one account with 100 sessions ({size / 1024:.1f} KiB of JSON)")
    p("")
    p(
        f"[oha](https://crates.io/crates/oha) on the same 2 cores as latchd (so the load "
        f"generator takes its share of them), 16 connections, {DURATION} per run, {RUNS} runs "
        f"of each; latency is per request, from oha."
    )
    p("")
    p("| figure | median of runs | spread (min – max of runs) | target |")
    p("|---|---|---|---|")
    if mx:
        p(f"| throughput, as fast as it goes | **{median([r['rps'] for r in mx]):,.0f} req/s** | {spread([r['rps'] for r in mx], lambda x: f'{x:,.0f}')} | — |")
        p(f"| … its p50 / p99 latency | {ms(median([r['p50'] for r in mx]))} / {ms(median([r['p99'] for r in mx]))} | p99 {spread([r['p99'] for r in mx], ms)} | — |")
    if fx:
        p99 = median([r["p99"] for r in fx])
        p(f"| **p99 at 1,000 req/s** | **{ms(p99)}** | {spread([r['p99'] for r in fx], ms)} | ≤ {P99_TARGET_MS:.0f} ms: {met(p99 <= P99_TARGET_MS)} |")
        p(f"| p50 at 1,000 req/s | {ms(median([r['p50'] for r in fx]))} | {spread([r['p50'] for r in fx], ms)} | — |")
        p(f"| p99.9 / slowest at 1,000 req/s | {ms(median([r['p999'] for r in fx]))} / {ms(median([r['max'] for r in fx]))} | slowest {spread([r['max'] for r in fx], ms)} | — |")
        p(f"| achieved rate at `-q 1000` | {median([r['rps'] for r in fx]):,.0f} req/s | {spread([r['rps'] for r in fx], lambda x: f'{x:,.0f}')} | — |")
    bad = [r for r in mx + fx if r["ok"] != r["total"]]
    p("")
    p(
        "Every request answered 200."
        if not bad
        else f"**{len(bad)} run(s) had non-200 answers or errors** (see `server/load-*.json`)."
    )
    p("")
    p("Reproduce (latchd started by the script on an ephemeral port, token from `latchd seed`):")
    p("")
    p("```sh")
    p("latchd seed --database /tmp/l.sqlite3 --email load@example.com --devices 100   # take one session_token")
    p("latchd --dev --listen 127.0.0.1:8787 --database /tmp/l.sqlite3 --max-connections-per-ip 0 --max-connections 20000 &")
    p(f"oha --no-tui -z {DURATION} -c 16 -H \"authorization: Bearer $TOKEN\" http://127.0.0.1:8787/v1/sessions")
    p(f"oha --no-tui -z {DURATION} -c 16 -q 1000 --latency-correction -H \"authorization: Bearer $TOKEN\" http://127.0.0.1:8787/v1/sessions")
    p("```")
    p("")

# --------------------------------------------------------------- streams
stream_runs = [json.loads(path.read_text()) for path in sorted(RAW.glob("streams-*.json"))]
if stream_runs:
    held = [r["streams_open"] for r in stream_runs]
    per = [r["kib_per_stream"] for r in stream_runs]
    opens = [r["open_s"] for r in stream_runs]
    revokes = [v for r in stream_runs for v in r["revokes"]]
    all_ms = [v["all_ms"] for v in revokes if v["reached"] == v["streams"]]
    first_ms = [v["first_ms"] for v in revokes if v["reached"]]
    http_ms = [v["http_ms"] for v in revokes]
    incomplete = [v for v in revokes if v["reached"] != v["streams"]]
    dropped = [v for v in revokes if v["others_open"] < v["others_expected"]]
    lost = max((v["lost"] for v in revokes), default=0)
    failed = [r for r in stream_runs if r["streams_failed"]]
    p(f"### Event streams: {STREAMS:,} held open (100 accounts × 100 devices from `latchd seed`)")
    p("")
    p(
        f"`latch-bench-streams` (workspace member `bench/streams`) opens them from "
        f"{stream_runs[0]['workers']} worker process(es) separate from latchd (at most 5,000 "
        f"streams each; one process may hold at most 20,000 files here, `ulimit -n` raised to "
        f"that). Memory is latchd's PSS from `/proc/<pid>/smaps_rollup` before the first "
        f"stream and 3 s after the last, over the streams held. Then, on 5 accounts in turn, "
        f"`POST /v1/sessions/revoke-all`: the time from sending it to each of that account's "
        f"100 streams receiving its own `session.revoked` (the last one is the figure), and a "
        f"count of every other stream still open. {len(stream_runs)} runs, each on a fresh "
        f"latchd over a fresh copy of the seeded database."
    )
    p("")
    p("| figure | median | spread | target |")
    p("|---|---|---|---|")
    p(f"| streams held open | **{median(held):,.0f}** | {spread(held, lambda x: f'{x:,}')} | {STREAMS_TARGET:,}: {met(min(held) >= STREAMS_TARGET)} |")
    p(f"| latchd memory per stream | **{median(per):.1f} KiB** | {spread(per, lambda x: f'{x:.1f}')} | ≤ {KIB_PER_STREAM_TARGET:.0f} KiB: {met(median(per) <= KIB_PER_STREAM_TARGET)} |")
    p(f"| latchd PSS before → after | {median([r['pss_before_kib'] for r in stream_runs]) / 1024:.1f} → {median([r['pss_after_kib'] for r in stream_runs]) / 1024:.1f} MiB | — | — |")
    p(f"| time to open them all | {median(opens):.1f} s | {spread(opens, lambda x: f'{x:.1f} s')} | — |")
    if all_ms:
        q = statistics.quantiles(all_ms, n=4) if len(all_ms) >= 2 else [all_ms[0]] * 3
        p(f"| **revoke-all → all 100 of its streams told** ({len(all_ms)} calls) | **{ms(median(all_ms))}** | IQR {ms(q[0])} – {ms(q[2])}; min – max {spread(all_ms, ms)} | — |")
    if first_ms:
        p(f"| revoke-all → first of its streams told | {ms(median(first_ms))} | {spread(first_ms, ms)} | — |")
    p(f"| revoke-all HTTP answer | {ms(median(http_ms))} | {spread(http_ms, ms)} | — |")
    p("")
    notes = []
    notes.append(
        "Every other stream stayed connected after every revoke-all."
        if not dropped and not lost
        else f"**Other streams dropped**: {len(dropped)} check(s) found fewer open than expected; {lost} stream(s) ended without their own revocation."
    )
    if incomplete:
        notes.append(f"**{len(incomplete)} revoke-all(s) did not reach all their streams within 60 s.**")
    if failed:
        errors = "; ".join(f"{r['streams_failed']} failed ({r['first_error']})" for r in failed)
        notes.append(f"**Streams that could not be opened**: {errors}.")
    p(" ".join(notes))
    p("")
    p("Reproduce:")
    p("")
    p("```sh")
    p("cargo build --release -p latchd -p latch-bench-streams && ulimit -n 20000")
    p("for i in $(seq -f %03g 0 99); do")
    p("  target/release/latchd seed --database /tmp/s.sqlite3 --email bench$i@example.com --devices 100 >/tmp/tokens/acct-$i.jsonl")
    p("done")
    p("target/release/latchd --dev --listen 127.0.0.1:8787 --database /tmp/s.sqlite3 \\")
    p("  --max-connections-per-ip 0 --max-connections 20000 &")
    p("target/release/latch-bench-streams run --url http://127.0.0.1:8787 --tokens-dir /tmp/tokens \\")
    p(f"  --server-pid $! --streams {STREAMS} --revokes 5")
    p("```")
    p("")

# ------------------------------------------------------------- criterion
crit = RAW / "criterion"
if crit.is_dir():
    rows = []
    for sample in sorted(crit.rglob("new/sample.json")):
        bench_dir = sample.parent.parent
        name = str(bench_dir.relative_to(crit))
        j = json.loads(sample.read_text())
        per_iter = sorted(t / i for t, i in zip(j["times"], j["iters"]))
        q = statistics.quantiles(per_iter, n=4)
        rows.append((name, statistics.median(per_iter), q[0], q[2], per_iter[0], per_iter[-1]))

    def t(ns):
        if ns < 1_000:
            return f"{ns:.0f} ns"
        if ns < 1_000_000:
            return f"{ns / 1e3:.2f} µs"
        return f"{ns / 1e6:.2f} ms"

    def command(name):
        crate, bench = ("latch-deeplink", "deep_link") if name.startswith("deep_link") else ("latchd", "hot_paths")
        return f"`cargo bench -p {crate} --bench {bench} -- '{name}' --warm-up-time 1 --measurement-time 3`"

    p("### Hot paths (Criterion)")
    p("")
    p(
        "Per iteration, from Criterion's samples (each sample's mean time per iteration): "
        "median, interquartile range, fastest and slowest sample. latchd's run on a real "
        "SQLite file of 100 accounts × 100 sessions; `authenticate` is what every "
        "authenticated call does first (hash the bearer token, find it by its unique index, "
        "expire and idle the account's due sessions, in one IMMEDIATE transaction)."
    )
    p("")
    p("| bench | median | IQR | min – max | command |")
    p("|---|---|---|---|---|")
    for name, med, q1, q3, lo, hi in rows:
        p(f"| `{name}` | **{t(med)}** | {t(q1)} – {t(q3)} | {t(lo)} – {t(hi)} | {command(name)} |")
    p("")

# ---------------------------------------------------------------- bundle
bundle = RAW / "bundle"
if bundle.is_dir():
    kinds = {}
    for path in sorted(bundle.iterdir()):
        kind = path.suffix.lstrip(".") or "other"
        data = path.read_bytes()
        raw, gz = kinds.get(kind, (0, 0))
        kinds[kind] = (raw + len(data), gz + len(gzip.compress(data, compresslevel=9)))
    p("### UI bundle (`npm --prefix ui run build`, `ui/dist/assets`)")
    p("")
    p("Deterministic (no spread): gzip -9 of each file, summed by kind. The JS budget in `ui/scripts/bundle-size.mjs` is 60 KB gzipped.")
    p("")
    p("| kind | raw | gzipped | budget |")
    p("|---|---|---|---|")
    for kind in ["js", "css"] + sorted(k for k in kinds if k not in ("js", "css")):
        if kind not in kinds:
            continue
        raw, gz = kinds[kind]
        budget = f"60 KB: {met(gz <= 60 * 1024)}" if kind == "js" else "—"
        label = kind.upper() if kind in ("js", "css") else f"{kind} (fonts etc., not compressed by transport)"
        p(f"| {label} | {raw / 1024:.1f} KB | **{gz / 1024:.1f} KB** | {budget} |")
    p("")
    p("Reproduce: `npm --prefix ui run build` (it prints the gzipped JS and CSS too).")
    p("")

p("### What the numbers showed, and what was changed")
p("")
p(
    "Each change measured before and after on the same machine in one sitting, alternating the "
    "two release builds (not re-run by this script; the figures above are the current build):"
)
p("")
p("| | before | after | why |")
p("|---|---|---|---|")
p(
    "| opening 10,000 streams | 76.9 s | ~3 s | every authenticated call ran the account's expiry "
    "check as `(?1 IS NULL OR account_id = ?1)`, which SQLite can't serve from an index: "
    "`EXPLAIN QUERY PLAN` showed a search over every live session of every account (10,000 "
    "rows, twice per call). Now two statement texts, each on its index. |"
)
p(
    "| revoke-all → all 100 streams told | 244 ms (188–264) | ~33–45 ms | one broadcast channel "
    "for the whole server: each of the 100 `session.revoked` events woke all 10,000 stream "
    "tasks before the revoking call could answer. Now one channel per account with a stream "
    "open, subscribed inside the authenticating transaction (events publish under the same "
    "database lock, so stream order is commit order). |"
)
p(
    "| p99 of `GET /v1/sessions` at 1,000 req/s (5 alternating runs, median) | 16.4 ms | 3.5 ms "
    "| `perf record -g -p <latchd>` during `oha -q 1000`: rusqlite column lookups by name "
    "(~16 %), JSON string escaping, chrono's RFC 3339 formatting, clones, a sort of all 15 "
    "columns of 100 rows, and ~25 % in the kernel waking blocking-pool threads that then "
    "queued on the one connection. Now: columns named and read by position; timestamps by a "
    "small formatter (a test holds it to chrono's output over ~600,000 instants); the list's "
    "JSON written straight from the rows (a test holds it byte for byte to `serde_json` of "
    "`latch_protocol::SessionList`); one query asks whether anything of the account is due "
    "before the two expiry scans run (same transaction and lock; a test checks it against "
    "the scans over 400 random accounts); an index in list order, "
    "`sessions_by_recency` (migration 0002); database calls on one thread of their own. "
    "latchd CPU per request 956 → 467 µs; the handler without HTTP 802 → 269 µs (Criterion); "
    "the most it answers with oha beside it ~2,000 → ~4,400 req/s. What is left: the database "
    "thread's wake-ups (~12 % of samples), SQLite itself (~10 %), JSON escaping (~7 %); a run "
    "while other work saturates both cores can still go over 5 ms (one of five: 8.2 ms). |"
)
p(
    "| latchd memory per stream | 21.3 KiB | 17.6 KiB | heaptrack over 2,000 streams: ~1.5 KiB "
    "a stream for its 64-slot channel, plus a task each. A stream is now polled by its "
    "connection directly, with no task or channel of its own (frames, order, and the ways a "
    "stream ends unchanged). Most of what is left is hyper's: an 8 KiB write buffer per "
    "connection and a read buffer that grows to 16 KiB on the second read, not settable "
    "through `axum::serve`. |"
)
p("")

print("\n".join(out))
