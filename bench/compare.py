"""paycrypt against moto on one machine, run by bench/compare (which builds and makes the venv).

Starts paycrypt (release, a fresh data directory) and moto's server, runs the same workload
against each in turn for CreateKey, GetKey, ListKeys, CreateAlias, GetAlias and TagResource, and
against paycrypt alone for GetParametersForExport, ExportKey TR-34, ExportKey TR-31 and ImportKey
TR-31; measures the raw RSA-2048 rates in process; sweeps throughput over concurrency for GetKey
and CreateKey on both; measures ListKeys page latency at 1,000 and 100,000 keys, start-up time to
the first answered request on that data directory, and resident memory. Writes
bench/results/*.json, bench/results/results.md and bench/throughput.png.

The data plane (part "data"): GenerateMac (HMAC_SHA256 over 256 bytes), VerifyMac (AES-128 CMAC),
EncryptData and DecryptData (AES-128 CBC, 1 KiB), VerifyCardValidationData (CVV2),
TranslatePinData (ISO 0 under a TDES PEK to ISO 4 under an AES PEK), VerifyPinData (Visa PVV) and
VerifyAuthRequestCryptogram (EMV common session key, ARPC method 1) against paycrypt alone (moto
has no data plane),
each in its own run (on one fresh server) between two runs of GetKey, --data-rounds rounds of
--data-duration seconds; each run's throughput is set against the mean of the two GetKey runs
around it, and the median of those ratios over the rounds is the operation's (target: at least
0.8x, no errors); the CPU time per request of server and load generator is recorded. Writes
bench/results/data-plane.{json,md} and bench/data-plane.png. Run with every other part skipped
(--skip table,crypto,sweep,scale,pg), it leaves summary.json and results.md as they are and needs
no moto.

PostgreSQL at scale (part "pg", issue #18): CreateKey into a node on PostgreSQL (the server of
--database-url, default $PAYCRYPT_TEST_DATABASE_URL; a database of its own is created with psql
and dropped after) measured with 1,000 keys in the account and again after filling it to
--pg-keys keys. Skipped, and said so, when no server is given.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
RESULTS = BENCH / "results"
COMMON_OPS = ["CreateKey", "GetKey", "ListKeys", "CreateAlias", "GetAlias", "TagResource"]
PAYCRYPT_OPS = ["GetParametersForExport", "ExportKeyTr34", "ExportKeyTr31", "ImportKeyTr31"]
# The data plane's operations as the load generator names them, with what each call does.
DATA_OPS = {
    "GenerateMac": "HMAC_SHA256 over 256 bytes",
    "VerifyMac": "AES-128 CMAC over 256 bytes",
    "EncryptData": "AES-128 CBC, 1 KiB",
    "DecryptData": "AES-128 CBC, 1 KiB",
    "VerifyCardValidationData": "CVV2, TDES card verification key",
    "TranslatePinData": "ISO 0 under a TDES PEK to ISO 4 under an AES PEK",
    "VerifyPinData": "Visa PVV of an ISO 0 block under a TDES PEK",
    "VerifyAuthRequestCryptogram": "ARQC, EMV common session key, ARPC method 1",
}
DATA_TARGET = 0.8
# Keys the data-plane part's GetKey runs read (created by each run first, a small part of its CPU).
DATA_GETKEY_KEYS = 100
ISSUE8_PARTS = {"table", "crypto", "sweep", "scale", "pg"}
CONFIG = """\
[limits]
keys_per_region = 1000000
aliases_per_region = 1000000
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"server exited with {proc.returncode} before listening")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
    sys.exit(f"nothing listens on port {port} after {timeout} s")


class Bench:
    def __init__(self, bin_dir: Path, duration: float, concurrency: int, keys: int):
        self.bin = bin_dir / "paycrypt-bench"
        self.paycrypt_bin = bin_dir / "paycrypt"
        self.duration = duration
        self.concurrency = concurrency
        self.keys = keys

    def run(self, endpoint: str, label: str, op: str, out: str, into: Path = RESULTS, **kw) -> dict:
        path = into / f"{out}.json"
        cmd = [
            str(self.bin), "run", "--endpoint", endpoint, "--label", label, "--op", op,
            "--concurrency", str(kw.get("concurrency", self.concurrency)),
            "--duration", str(kw.get("duration", self.duration)),
            "--keys", str(kw.get("keys", self.keys)),
            "--rate", str(kw.get("rate", 0)),
            "--json", str(path),
        ]
        print(f"== {label}: {op} (concurrency {kw.get('concurrency', self.concurrency)})", flush=True)
        before = cpu_times()
        subprocess.run(cmd, check=True)
        result = json.loads(path.read_text())
        # On a virtual machine other guests can take CPU time ("steal"): recorded per run, since
        # it moves absolute numbers and can move the ratios of runs made one after the other.
        result["steal_pct"] = steal_pct(before, cpu_times())
        path.write_text(json.dumps(result, indent=2))
        return result

    def tool(self, *args: str) -> dict:
        out = subprocess.run([str(self.bin), *args], check=True, capture_output=True, text=True)
        return json.loads(out.stdout)


class Paycrypt:
    def __init__(self, binary: Path, data_dir: Path, pool_size: int):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.data_dir = data_dir
        config = data_dir.parent / f"{data_dir.name}.toml"
        config.write_text(CONFIG)
        self.command = [
            str(binary), "serve", "--listen", f"127.0.0.1:{self.port}", "--data-dir", str(data_dir),
            "--config", str(config), "--key-pool-size", str(pool_size),
        ]
        self.proc: subprocess.Popen | None = None

    def start(self) -> "Paycrypt":
        self.proc = subprocess.Popen(self.command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc)
        return self

    def stop(self) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=30)
            self.proc = None


class Moto:
    def __init__(self):
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [str(BENCH / ".venv/bin/moto_server"), "-p", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port, self.proc)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(timeout=30)


def cpu_times() -> list[int]:
    """The machine's CPU time counters (the `cpu` line of /proc/stat)."""
    return [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]


def steal_pct(before: list[int], after: list[int]) -> float:
    delta = [b - a for a, b in zip(before, after)]
    total = sum(delta[:8])
    return 100.0 * delta[7] / total if total else 0.0


def rate_of(result: dict, op: str) -> float:
    return result["ops"][op]["throughput_per_s"]


def fmt_errors(result: dict, op: str) -> str:
    errors = result["ops"][op]["errors"]
    return ", ".join(f"{k} {v}" for k, v in errors.items()) or "-"


def plot(sweep: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, op in zip(axes, ["GetKey", "CreateKey"]):
        for label, style in [("paycrypt", "o-"), ("moto", "s--")]:
            points = sweep[op][label]
            xs = [p[0] for p in points]
            ax.plot(xs, [p[1] for p in points], style, label=label)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        ax.set_xticks(xs, [str(x) for x in xs])
        ax.set_xlabel("concurrency (requests in flight)")
        ax.set_ylabel("successful requests per second")
        ax.set_title(op)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.suptitle(f"paycrypt vs moto on one machine ({os.cpu_count()} cores, shared)")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bin-dir", type=Path, required=True, help="where paycrypt and paycrypt-bench are")
    parser.add_argument("--duration", type=float, default=10, help="seconds per measured run")
    parser.add_argument("--concurrency", type=int, default=16,
                        help="requests in flight for the table and the data plane")
    parser.add_argument("--keys", type=int, default=1000, help="keys created before each run")
    parser.add_argument("--sweep", default="1,4,16,64", help="concurrency levels of the sweep")
    parser.add_argument("--scale-keys", type=int, default=100_000, help="keys for the ListKeys scaling run")
    parser.add_argument("--data-rounds", type=int, default=12,
                        help="rounds of the data-plane part (each data operation once per round, "
                        "between two GetKey runs)")
    parser.add_argument("--data-duration", type=float, default=3,
                        help="seconds per run of the data-plane part (short runs, many rounds: the "
                        "machine's other work then weighs on every operation alike)")
    parser.add_argument("--database-url", default=os.environ.get("PAYCRYPT_TEST_DATABASE_URL"),
                        help="PostgreSQL server for part pg (a database is created on it and dropped)")
    parser.add_argument("--pg-keys", type=int, default=100_000, help="keys of the PostgreSQL scale run")
    parser.add_argument("--skip", default="",
                        help="comma-separated parts to skip: table,crypto,sweep,scale,pg,data")
    args = parser.parse_args()
    skip = set(filter(None, args.skip.split(",")))
    if unknown := skip - ISSUE8_PARTS - {"data"}:
        sys.exit(f"unknown parts to skip: {', '.join(sorted(unknown))}")
    RESULTS.mkdir(exist_ok=True)
    bench = Bench(args.bin_dir, args.duration, args.concurrency, args.keys)
    work = Path(tempfile.mkdtemp(prefix="paycrypt-bench-"))
    summary: dict = {"machine": machine(), "concurrency": args.concurrency, "duration_s": args.duration}
    md: list[str] = []

    # These two serve the table and the sweep only.
    servers_needed = bool({"table", "sweep"} - skip)
    paycrypt = Paycrypt(bench.paycrypt_bin, work / "data", pool_size=8)
    if servers_needed:
        paycrypt.start()
    moto = Moto() if servers_needed else None
    try:
        if "crypto" not in skip:
            summary["crypto_1"] = bench.tool("crypto", "--threads", "1")
            summary["crypto_all"] = bench.tool("crypto", "--threads", str(os.cpu_count() or 1))
        if "table" not in skip:
            rows = []
            for op in COMMON_OPS:
                # A fresh moto for each operation, so one run's keys do not slow the next. moto's
                # ListKeys ignores MaxResults and returns every key: with 50 keys it returns the
                # same page of 50 that paycrypt does.
                assert moto is not None
                moto.stop()
                moto = Moto()
                keys = 50 if op == "ListKeys" else args.keys
                p = bench.run(paycrypt.endpoint, "paycrypt", op, f"paycrypt-{op}", keys=keys)
                m = bench.run(moto.endpoint, "moto", op, f"moto-{op}", keys=keys)
                rows.append((op, p, m))
            md.append(f"### paycrypt / moto, concurrency {args.concurrency}, {args.duration:g} s per run, "
                      f"{args.keys} keys created before each run (50 for ListKeys: one page of 50 on both)\n")
            md.append("| operation | paycrypt /s | p50 ms | p99 ms | moto /s | p50 ms | p99 ms | ratio | errors (paycrypt; moto) | CPU steal % (paycrypt; moto) |")
            md.append("|---|---|---|---|---|---|---|---|---|---|")
            summary["table"] = {}
            for op, p, m in rows:
                po, mo = p["ops"][op], m["ops"][op]
                ratio = po["throughput_per_s"] / mo["throughput_per_s"] if mo["throughput_per_s"] else None
                summary["table"][op] = {"paycrypt": po, "moto": mo, "ratio": ratio}
                md.append(
                    f"| {op} | {po['throughput_per_s']:.0f} | {po['p50_ms']:.2f} | {po['p99_ms']:.2f} "
                    f"| {mo['throughput_per_s']:.0f} | {mo['p50_ms']:.2f} | {mo['p99_ms']:.2f} "
                    f"| {'%.1fx' % ratio if ratio else 'n/a'} | {fmt_errors(p, op)}; {fmt_errors(m, op)} "
                    f"| {p['steal_pct']:.0f}; {m['steal_pct']:.0f} |"
                )
            md.append("\n### paycrypt alone\n")
            md.append("| operation | paycrypt /s | p50 ms | p99 ms | errors |")
            md.append("|---|---|---|---|---|")
            for op in PAYCRYPT_OPS:
                p = bench.run(paycrypt.endpoint, "paycrypt", op, f"paycrypt-{op}", keys=100)
                po = p["ops"][op]
                summary["table"][op] = {"paycrypt": po}
                md.append(f"| {op} | {po['throughput_per_s']:.1f} | {po['p50_ms']:.2f} | {po['p99_ms']:.2f} | {fmt_errors(p, op)} |")
            # GetParametersForExport paced below what the pool's thread refills (the pool's job),
            # and the same against a server without a pool.
            paced = bench.run(paycrypt.endpoint, "paycrypt", "GetParametersForExport", "paycrypt-gpfe-paced",
                              concurrency=1, rate=4, keys=0, duration=max(args.duration, 10))
            summary["gpfe_paced_pool8"] = paced["ops"]["GetParametersForExport"]
            nopool = Paycrypt(bench.paycrypt_bin, work / "nopool", pool_size=0).start()
            try:
                paced0 = bench.run(nopool.endpoint, "paycrypt-pool0", "GetParametersForExport",
                                   "paycrypt-gpfe-paced-pool0", concurrency=1, rate=4, keys=0,
                                   duration=max(args.duration, 10))
                summary["gpfe_paced_pool0"] = paced0["ops"]["GetParametersForExport"]
            finally:
                nopool.stop()
        if "sweep" not in skip:
            assert moto is not None
            sweep: dict = {"GetKey": {"paycrypt": [], "moto": []}, "CreateKey": {"paycrypt": [], "moto": []}}
            for op in sweep:
                for c in [int(x) for x in args.sweep.split(",")]:
                    for label, server in [("paycrypt", paycrypt), ("moto", moto)]:
                        r = bench.run(server.endpoint, label, op, f"sweep-{label}-{op}-{c}", concurrency=c,
                                      keys=20, duration=max(args.duration / 2, 3))
                        sweep[op][label].append((c, rate_of(r, op)))
            summary["sweep"] = sweep
            plot(sweep, BENCH / "throughput.png")
    finally:
        if moto:
            moto.stop()
        paycrypt.stop()

    if "scale" not in skip:
        summary["scale"] = scale(bench, work / "scale", args.scale_keys)

    if "pg" not in skip:
        if args.database_url:
            summary["pg"] = pg_scale(bench, work / "pg", args.database_url, args.pg_keys)
        else:
            print("== PostgreSQL part skipped: no --database-url (or PAYCRYPT_TEST_DATABASE_URL)")

    data_md: list[str] = []
    if "data" not in skip:
        summary["data_plane"] = data_plane(bench, work / "data-plane", args.data_rounds, args.data_duration)
        (RESULTS / "data-plane.json").write_text(json.dumps(summary["data_plane"], indent=2))
        data_md = data_plane_md(summary["data_plane"])
        (RESULTS / "data-plane.md").write_text("\n".join(data_md) + "\n")
        plot_data_plane(summary["data_plane"], BENCH / "data-plane.png")

    if ISSUE8_PARTS - skip:
        (RESULTS / "summary.json").write_text(json.dumps(summary, indent=2))
        md.append("")
        md.extend(targets(summary))
        md.extend(["", *data_md])
        (RESULTS / "results.md").write_text("\n".join(md) + "\n")
        print("\n".join(md))
    else:
        print("\n".join(data_md))


def scale(bench: Bench, data_dir: Path, scale_keys: int) -> dict:
    """ListKeys page latency at 1,000 and scale_keys keys (each worker walks every page); start-up
    and memory on the large data directory."""
    out: dict = {}
    small = Paycrypt(bench.paycrypt_bin, data_dir.with_name(data_dir.name + "-1k"), pool_size=8).start()
    server = Paycrypt(bench.paycrypt_bin, data_dir, pool_size=8).start()
    try:
        bench.run(small.endpoint, "paycrypt", "CreateKey", "scale-setup-1k", keys=1000, concurrency=1,
                  duration=0)
        started = time.monotonic()
        setup = bench.run(server.endpoint, "paycrypt", "CreateKey", "scale-setup-big", keys=scale_keys,
                          concurrency=1, duration=0)
        out["create_rate_during_setup"] = scale_keys / setup["setup_s"]
        out["setup_wall_s"] = time.monotonic() - started
        out["keys"] = scale_keys
        out["rss_kib_after_load"] = int(bench_rss(bench, server.proc.pid))
        # Latency at concurrency 1 moves with the machine from one second to the next, so the two
        # sizes are measured in turns, three runs each, and compared by their medians.
        out["listkeys_1k_runs"], out["listkeys_big_runs"] = [], []
        for turn in range(3):
            for target, runs, name in [(small, out["listkeys_1k_runs"], "1k"),
                                       (server, out["listkeys_big_runs"], "big")]:
                r = bench.run(target.endpoint, "paycrypt", "ListKeys", f"scale-listkeys-{name}-{turn}",
                              keys=0, concurrency=1, duration=4)
                runs.append(r["ops"]["ListKeys"])
    finally:
        small.stop()
        server.stop()
    startups = []
    for _ in range(5):
        startups.append(bench.tool("startup", "--endpoint", server.endpoint, "--", *server.command))
    out["startup"] = startups
    # Memory of a fresh process on that data after reading pages for a while.
    server.start()
    try:
        bench.run(server.endpoint, "paycrypt", "ListKeys", "scale-listkeys-restarted", keys=0,
                  concurrency=4, duration=3)
        out["rss_kib_restarted"] = int(bench_rss(bench, server.proc.pid))
    finally:
        server.stop()
    return out


def pg_scale(bench: Bench, work: Path, admin_url: str, keys: int) -> dict:
    """CreateKey into a PostgreSQL-backed node with 1,000 keys in the account, then with `keys`."""
    name = f"paycrypt_bench_{os.getpid()}"
    subprocess.run(["psql", admin_url, "-qc", f"CREATE DATABASE {name}"], check=True)
    base, _, query = admin_url.partition("?")
    url = base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")
    work.mkdir(parents=True, exist_ok=True)
    server = Paycrypt(bench.paycrypt_bin, work / "data", pool_size=0)
    server.command += ["--database-url", url]
    out: dict = {"keys": keys}
    try:
        server.start()
        bench.run(server.endpoint, "paycrypt-pg", "CreateKey", "pg-setup-1k", keys=1000, duration=0)
        out["at_1k"] = bench.run(server.endpoint, "paycrypt-pg", "CreateKey", "pg-createkey-1k",
                                 keys=1)["ops"]["CreateKey"]
        setup = bench.run(server.endpoint, "paycrypt-pg", "CreateKey", "pg-setup-big", keys=keys, duration=0)
        out["create_rate_during_setup"] = keys / setup["setup_s"]
        out["at_big"] = bench.run(server.endpoint, "paycrypt-pg", "CreateKey", "pg-createkey-big",
                                  keys=1)["ops"]["CreateKey"]
    finally:
        server.stop()
        subprocess.run(["psql", admin_url, "-qc", f"DROP DATABASE IF EXISTS {name}"], check=False)
    return out


def process_cpu_s(pid: int) -> float:
    """User plus system CPU seconds of a running process (/proc/PID/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def median(xs: list[float]) -> float:
    xs = sorted(xs)
    mid = len(xs) // 2
    return xs[mid] if len(xs) % 2 else (xs[mid - 1] + xs[mid]) / 2


def data_plane(bench: Bench, data_dir: Path, rounds: int, duration: float) -> dict:
    """Each data-plane operation in its own run on one fresh paycrypt, with a run of GetKey before
    and after it (GetKey, op 1, GetKey, op 2, ..., GetKey; the order of the operations rotated each
    round), and the run's throughput set against the mean of the two GetKey runs around it. The
    host's speed drifts over minutes (other machines' work on it); two runs seconds apart see the
    same host, so the ratio of neighbours is the operation's cost against GetKey's, and the median
    of those ratios over the rounds is the operation's ratio. Separate runs, not one mix: in a
    closed loop each operation of a mix gets its share of the calls whatever it costs, so a mix
    cannot show one being slower than another.

    Each run also records the CPU time per request of the server and of the load generator (its
    setup included: a few calls, or the GetKey keys): throughput moves with whatever else the
    machine runs, the CPU a request costs much less."""
    print("== data plane: paycrypt alone (moto has no payment-cryptography-data)", flush=True)
    ops = ["GetKey", *DATA_OPS]
    out: dict = {"rounds": rounds, "concurrency": bench.concurrency, "duration_s": duration,
                 "getkey_keys": DATA_GETKEY_KEYS, "load_before": os.getloadavg(),
                 "runs": {op: [] for op in ops}}
    # No key pool: nothing here asks for a token, and filling it would take CPU from the first runs.
    server = Paycrypt(bench.paycrypt_bin, data_dir, pool_size=0).start()
    assert server.proc is not None
    # Each run's numbers go into data-plane.json; the load generator's own files stay out of
    # bench/results.
    runs_dir = data_dir.parent / "data-plane-runs"
    runs_dir.mkdir(exist_ok=True)

    def measure(op: str, name: str) -> dict:
        server_before, loadgen_before = process_cpu_s(server.proc.pid), children_cpu_s()
        r = bench.run(server.endpoint, "paycrypt", op, name, into=runs_dir, duration=duration,
                      keys=DATA_GETKEY_KEYS if op == "GetKey" else 0)
        o = r["ops"][op]
        calls = max(o["ok"] + sum(o["errors"].values()), 1)
        run = {
            **o, "steal_pct": r["steal_pct"],
            "server_cpu_us": 1e6 * (process_cpu_s(server.proc.pid) - server_before) / calls,
            "loadgen_cpu_us": 1e6 * (children_cpu_s() - loadgen_before) / calls,
        }
        out["runs"][op].append(run)
        return run

    data_ops = list(DATA_OPS)
    try:
        for turn in range(rounds):
            before = measure("GetKey", f"data-GetKey-{turn}-0")
            for i, op in enumerate(data_ops[turn % len(data_ops):] + data_ops[:turn % len(data_ops)]):
                run = measure(op, f"data-{op}-{turn}")
                after = measure("GetKey", f"data-GetKey-{turn}-{i + 1}")
                run["getkey_around_per_s"] = (before["throughput_per_s"] + after["throughput_per_s"]) / 2
                before = after
    finally:
        server.stop()
    out["load_after"] = os.getloadavg()

    out["ops"] = {}
    for op in ops:
        runs = out["runs"][op]
        out["ops"][op] = {
            key: median([r[key] for r in runs])
            for key in ["throughput_per_s", "p50_ms", "p99_ms", "server_cpu_us", "loadgen_cpu_us"]
        }
        out["ops"][op]["errors"] = sum(sum(r["errors"].values()) for r in runs)
    getkey = out["ops"]["GetKey"]
    for op in DATA_OPS:
        o = out["ops"][op]
        o["round_ratios"] = [r["throughput_per_s"] / r["getkey_around_per_s"] for r in out["runs"][op]]
        o["ratio"] = median(o["round_ratios"])
        # The ratio of the medians over the whole part, for comparison with the paired one.
        o["ratio_of_medians"] = o["throughput_per_s"] / getkey["throughput_per_s"]
        # What the ratio would be if the two processes were all that ran, CPU-bound.
        o["cpu_ratio"] = ((getkey["server_cpu_us"] + getkey["loadgen_cpu_us"])
                          / (o["server_cpu_us"] + o["loadgen_cpu_us"]))
        o["met"] = o["ratio"] >= DATA_TARGET and not o["errors"]
    return out


def data_plane_md(d: dict) -> list[str]:
    ops = d["ops"]
    lines = [
        f"### Data plane (paycrypt alone: moto has no data plane), concurrency {d['concurrency']}, "
        f"{d['duration_s']:g} s per run, {d['rounds']} rounds, each run of an operation between two of GetKey\n",
        "| operation | what | /s (median) | p50 ms | p99 ms | vs the GetKey runs around it: median (rounds min-max) "
        "| ratio of the medians | CPU us/request: server + load generator | GetKey's CPU / this | errors "
        "| >= 0.8x GetKey, no errors |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for op, o in ops.items():
        if op == "GetKey":
            what, ratio, of_medians, cpu_ratio, met = f"TDES key, one of {d['getkey_keys']}", "", "", "", ""
        else:
            rr = o["round_ratios"]
            what, met = DATA_OPS[op], "yes" if o["met"] else "no"
            ratio = f"{o['ratio']:.2f}x ({min(rr):.2f}-{max(rr):.2f})"
            of_medians = f"{o['ratio_of_medians']:.2f}x"
            cpu_ratio = f"{o['cpu_ratio']:.2f}"
        errors: dict = {}
        for r in d["runs"][op]:
            for code, n in r["errors"].items():
                errors[code] = errors.get(code, 0) + n
        lines.append(
            f"| {op} | {what} | {o['throughput_per_s']:.0f} | {o['p50_ms']:.2f} | {o['p99_ms']:.2f} | {ratio} | {of_medians} "
            f"| {o['server_cpu_us']:.0f} + {o['loadgen_cpu_us']:.0f} | {cpu_ratio} "
            f"| {', '.join(f'{k} {v}' for k, v in errors.items()) or '-'} | {met} |"
        )
    steal = [r["steal_pct"] for runs in d["runs"].values() for r in runs]
    lines.append("")
    lines.append(
        f"Medians over the rounds. Load average (1, 5, 15 min) before: "
        f"{', '.join('%.2f' % x for x in d['load_before'])}; after: "
        f"{', '.join('%.2f' % x for x in d['load_after'])} ({os.cpu_count()} cores); CPU steal "
        f"{min(steal):.0f}-{max(steal):.0f} % per run. Throughput per run in data-plane.json.")
    return lines


def plot_data_plane(d: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ops = list(d["ops"])
    fig, ax = plt.subplots(figsize=(8, 4.2))
    xs = range(len(ops))
    ax.bar(xs, [d["ops"][op]["throughput_per_s"] for op in ops], color="#8fb3d9", label="median")
    for x, op in zip(xs, ops):
        ax.plot([x] * len(d["runs"][op]), [r["throughput_per_s"] for r in d["runs"][op]], "k.",
                label="each run" if x == 0 else None)
    ax.axhline(DATA_TARGET * d["ops"]["GetKey"]["throughput_per_s"], color="red", linestyle="--",
               label=f"{DATA_TARGET}x GetKey")
    ax.set_xticks(list(xs), ops, rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("successful requests per second")
    ax.set_title(f"paycrypt data plane against GetKey, {d['concurrency']} in flight, {d['rounds']} rounds, "
                 f"each run between two of GetKey ({os.cpu_count()} cores, shared)", fontsize=9)
    ax.grid(True, axis="y", alpha=0.3)
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def bench_rss(bench: Bench, pid: int) -> str:
    return subprocess.run([str(bench.bin), "rss", str(pid)], check=True, capture_output=True,
                          text=True).stdout.strip()


def machine() -> dict:
    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), "unknown")
    mem = next((line.split(":", 1)[1].strip() for line in Path("/proc/meminfo").read_text().splitlines()
                if line.startswith("MemTotal")), "unknown")
    return {"nproc": os.cpu_count(), "cpu": model, "memory": mem}


def targets(s: dict) -> list[str]:
    lines = ["### Targets of issue #8\n", "| target | measured | met |", "|---|---|---|"]
    notes: list[str] = []

    def row(name: str, measured: str, ok: bool | None) -> None:
        lines.append(f"| {name} | {measured} | {'yes' if ok else ('no' if ok is not None else 'n/a')} |")

    table = s.get("table", {})
    for op, goal in [("GetKey", 30), ("ListKeys", 30), ("CreateKey", 10)]:
        r = table.get(op, {}).get("ratio")
        row(f"{op} >= {goal}x moto", f"{r:.1f}x" if r else "n/a", (r >= goal) if r else None)
    crypto = s.get("crypto_1")
    paced = s.get("gpfe_paced_pool8")
    if crypto and paced:
        keygen = crypto["rsa2048_keygen_median_ms"]
        row("GetParametersForExport median <= 1/10 of one RSA-2048 keygen",
            f"{paced['p50_ms']:.2f} ms vs keygen median {keygen:.1f} ms (1/10 = {keygen / 10:.2f} ms); "
            f"without the pool {s['gpfe_paced_pool0']['p50_ms']:.2f} ms", paced["p50_ms"] <= keygen / 10)
    if crypto and "ExportKeyTr34" in table:
        for key, what in [("crypto_1", "1 thread"), ("crypto_all", "all cores")]:
            raw = s[key]["rsa2048_sign_plus_oaep_per_s"]
            tr34 = table["ExportKeyTr34"]["paycrypt"]["throughput_per_s"]
            row(f"ExportKey TR-34 >= half the raw sign+OAEP rate ({what})",
                f"{tr34:.0f}/s vs raw {raw:.0f}/s ({tr34 / raw:.2f})", tr34 >= raw / 2)
        gpfe = table["GetParametersForExport"]["paycrypt"]["throughput_per_s"]
        notes.append(f"GetParametersForExport saturated: {gpfe:.1f}/s, raw RSA-2048 keygen "
                     f"{s['crypto_1']['rsa2048_keygen_per_s']:.1f}/s (1 thread), "
                     f"{s['crypto_all']['rsa2048_keygen_per_s']:.1f}/s (all cores).")
    sc = s.get("scale")
    if sc:
        small = sorted(r["p50_ms"] for r in sc["listkeys_1k_runs"])
        big = sorted(r["p50_ms"] for r in sc["listkeys_big_runs"])
        a, b = small[len(small) // 2], big[len(big) // 2]
        row(f"ListKeys page p50 at {sc['keys']:,} keys within 1.5x of 1,000 keys (median of 3 runs each, "
            "in turns, every page walked)",
            f"{b:.2f} ms vs {a:.2f} ms ({b / a:.2f}x); runs {', '.join('%.2f' % x for x in big)} vs "
            f"{', '.join('%.2f' % x for x in small)}", b <= 1.5 * a)
        times = sorted(x["first_answer_ms"] for x in sc["startup"])
        row(f"start-up to first answered request < 200 ms ({sc['keys']:,} keys)",
            f"median {times[len(times) // 2]:.0f} ms (of {len(times)}: {', '.join('%.0f' % t for t in times)})",
            times[len(times) // 2] < 200)
        rss = max(sc["rss_kib_after_load"], sc["rss_kib_restarted"]) / 1024
        row(f"resident memory < 100 MiB with {sc['keys']:,} keys",
            f"{sc['rss_kib_after_load'] / 1024:.1f} MiB after creating them, "
            f"{sc['rss_kib_restarted'] / 1024:.1f} MiB restarted", rss < 100)
        notes.append(f"Keys created for the scale run at {sc['create_rate_during_setup']:.0f}/s "
                     f"(setup concurrency 16).")
    return lines + [""] + notes + [""] + issue18_targets(s)


def issue18_targets(s: dict) -> list[str]:
    """The targets of issue #18, from the same runs."""
    lines = ["### Targets of issue #18\n", "| measure | measured | target | met |", "|---|---|---|---|"]

    def row(name: str, measured: str, target: str, ok: bool | None) -> None:
        lines.append(f"| {name} | {measured} | {target} | {'yes' if ok else ('no' if ok is not None else 'n/a')} |")

    table = s.get("table", {})

    def rate(op: str) -> float | None:
        return table.get(op, {}).get("paycrypt", {}).get("throughput_per_s")

    r = table.get("CreateKey", {}).get("ratio")
    row("CreateKey vs moto, 16 in flight", f"{r:.1f}x" if r else "n/a", ">= 20x", r >= 20 if r else None)
    ck, gk = rate("CreateKey"), rate("GetKey")
    row("CreateKey/s vs GetKey/s", f"{ck:.0f} / {gk:.0f} = {ck / gk:.2f}" if ck and gk else "n/a", ">= 0.5",
        ck / gk >= 0.5 if ck and gk else None)
    crypto, paced = s.get("crypto_1"), s.get("gpfe_paced_pool8")
    if crypto and paced:
        keygen = crypto["rsa2048_keygen_median_ms"]
        row("GetParametersForExport median vs one RSA-2048 keygen (paced 4/s, pool of 8)",
            f"{paced['p50_ms']:.2f} ms / {keygen:.1f} ms = {paced['p50_ms'] / keygen:.3f}", "<= 0.03",
            paced["p50_ms"] / keygen <= 0.03)
    imp, exp = rate("ImportKeyTr31"), rate("ExportKeyTr31")
    row("ImportKey TR-31/s vs ExportKey TR-31/s", f"{imp:.0f} / {exp:.0f} = {imp / exp:.2f}" if imp and exp else "n/a",
        ">= 0.6", imp / exp >= 0.6 if imp and exp else None)
    pg = s.get("pg")
    if pg:
        a, b = pg["at_1k"]["throughput_per_s"], pg["at_big"]["throughput_per_s"]
        row(f"CreateKey on PostgreSQL at {pg['keys']:,} keys vs at 1,000 (16 in flight)",
            f"{b:.0f}/s vs {a:.0f}/s: 1k is {a / b:.2f}x the rate at {pg['keys']:,} "
            f"(p50 {pg['at_big']['p50_ms']:.2f} vs {pg['at_1k']['p50_ms']:.2f} ms)", "within 1.5x", a / b <= 1.5)
    else:
        row("CreateKey on PostgreSQL at 100k keys vs at 1k", "not run", "within 1.5x", None)
    return lines


if __name__ == "__main__":
    main()
