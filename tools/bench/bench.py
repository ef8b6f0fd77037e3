#!/usr/bin/env python3
"""`make bench`: the service's throughput on SQLite and on PostgreSQL, and optionally beside the
PostgREST peer of ../shared/bench, in one run on this machine.

For each backend it starts the release binary on an empty database (SQLite in a temporary
directory; PostgreSQL in a throwaway cluster of its own with pg_stat_statements, on 127.0.0.1),
imports BENCH_PLANS established plans through the bulk import (3 goals and 5 interventions each,
like the peer's), follows the change feed over them, then runs each scenario with wrk and prints
req/s, p50/p99, SQL statements per request (PostgreSQL), how many access records still wait for
their seal after it (work left to the scenarios after it: the sealer takes at most 500 records a
second) and the service's peak RSS, and the import's plans/s and database bytes per plan. Figures only: nothing here passes or fails on them.

Settings (environment): BENCH_PLANS (100000), BENCH_BACKENDS ("sqlite postgres"),
BENCH_BIN (another binary), BENCH_DURATION (10 s a scenario), BENCH_CONNECTIONS (32), BENCH_THREADS (2), BENCH_SCENARIOS
(default "document plan list list_by_consent list_by_small_unit create update": the third list for
a unit that one plan's consent in a hundred covers; "update" replaces a plan's details, If-Match
"*", and has no peer scenario; also "revision": the plan as its meeting established it,
`/plans/{id}/revisions/1`, compared with the peer's by-id; "worklist", "deviations" and "audit": the
region's first page of its unanswered summons, of its deviations and, as its auditor, of the access
log; empty for the import and feed only), BENCH_PEER=1 (also
run the peer's scenarios from ../shared/bench in the same run and print the ratios),
BENCH_ROUNDS (1: how often each scenario runs; the main table shows the median round),
BENCH_COMPARE (settings such as "METRICS_ENABLED=true": each round then runs the scenarios on the
service restarted without and with them, alternating which goes first, and a further table gives
both medians and their difference — an A/B of one binary on one database in one run),
BENCH_STATEMENTS=1 (PostgreSQL: print each scenario's statements, most called first),
BENCH_BIN_B (a second binary, e.g. a commit before: the same A/B with this binary as the "with"
side; it may be combined with BENCH_COMPARE), BENCH_LOG_RECORDS (0: that many synthetic access
records, already sealed, added to the log before the scenarios, for the figures of a service whose
log has grown for months — a list of 50 writes one record a request, so 1,000 lists a second are
86 million a day), BENCH_SEALED=1 (before each scenario, wait up to 5 minutes until the sealer has
sealed what the scenarios before it left, so that no scenario's figures carry another's sealing;
the wait is logged). Both binaries run on the one database: the newer
one's migrations apply to it, so binaries that differ in a migration are compared in separate runs
instead (BENCH_BIN, one after the other, alternating). The report is also written to
target/bench/report.md.
"""
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
BIN = os.environ.get("BENCH_BIN") or os.path.join(ROOT, "target", "release", "sip-service")
WRK = os.path.join(ROOT, "tools", "bench", "wrk")
SHARED = os.path.abspath(os.path.join(ROOT, "..", "shared", "bench"))
PLANS = int(os.environ.get("BENCH_PLANS", "100000"))
BACKENDS = os.environ.get("BENCH_BACKENDS", "sqlite postgres").split()
DURATION = int(os.environ.get("BENCH_DURATION", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "32"))
THREADS = int(os.environ.get("BENCH_THREADS", "2"))
PEER = os.environ.get("BENCH_PEER") == "1"
SCENARIOS = os.environ.get("BENCH_SCENARIOS",
                           "document plan list list_by_consent list_by_small_unit create update").split()
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "1"))
COMPARE = dict(kv.split("=", 1) for kv in os.environ.get("BENCH_COMPARE", "").split())
BIN_B = os.environ.get("BENCH_BIN_B")
SHOW_STATEMENTS = os.environ.get("BENCH_STATEMENTS") == "1"
LOG_RECORDS = int(os.environ.get("BENCH_LOG_RECORDS", "0"))
SEALED = os.environ.get("BENCH_SEALED") == "1"
# Further postgresql.conf lines for the service's cluster (`;`-separated), to try a setting.
PG_SETTINGS = "\n".join(os.environ.get("BENCH_PG_SETTINGS", "").split(";"))
SECRET = "bench-only-hs256-secret-0123456789abcdef"
REGION = "SE2321000016-PSY1"  # the initiating unit of the generated plans
MUNICIPALITY = "SE2120001314-SOC1"  # a unit their consents cover
SMALL_UNIT = "SE2321000016-HAB1"  # a unit one consent in a hundred covers
# Below Linux's ephemeral range (32768–60999): a port inside it can be held, at the moment the
# cluster starts, by a client socket of the run before (the thirty-third session lost a peer pass
# to "could not bind … Address already in use" on 55440).
PG_PORT = 25440
PG_DB = "sip_bench"


def log(message):
    print(message, file=sys.stderr, flush=True)


def run(args, **kwargs):
    done = subprocess.run(args, text=True, capture_output=True, **kwargs)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(args[:3])} … failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout


def free_port():
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def process_cpu_seconds(pid, with_reaped=False):
    """User and system CPU time of one process; with its reaped children's (a postmaster's exited
    backends) when asked."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    ticks = int(fields[11]) + int(fields[12])
    if with_reaped:
        ticks += int(fields[13]) + int(fields[14])
    return ticks / os.sysconf("SC_CLK_TCK")


def cluster_cpu_seconds(data_dir):
    """CPU time a PostgreSQL cluster has used so far: its postmaster, every live child (the
    backends, the WAL writer, the checkpointer …) and the children it has reaped."""
    with open(os.path.join(data_dir, "postmaster.pid")) as f:
        postmaster = int(f.readline())
    total = process_cpu_seconds(postmaster, with_reaped=True)
    for stat_path in glob.glob("/proc/[0-9]*/stat"):
        try:
            with open(stat_path) as stat:
                fields = stat.read().rsplit(")", 1)[1].split()
            if int(fields[1]) == postmaster:
                total += process_cpu_seconds(int(stat_path.split("/")[2]))
        except (OSError, ValueError, IndexError):
            continue  # a backend that ended meanwhile: its time is in the postmaster's reaped
    return total


class Postgres:
    """A throwaway PostgreSQL cluster with pg_stat_statements, removed afterwards."""

    def __init__(self):
        versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                          key=lambda p: int(p.split("/")[4]))
        if not versions:
            raise RuntimeError("no PostgreSQL server binaries under /usr/lib/postgresql")
        self.bin = os.path.dirname(versions[-1])
        self.root = tempfile.mkdtemp(prefix="sip-bench-pg-")
        self.data = os.path.join(self.root, "data")
        # initdb refuses to run as root: the cluster then belongs to the postgres user.
        self.as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_pg:
            shutil.chown(self.root, "postgres")
        run(self.as_pg + [f"{self.bin}/initdb", "-D", self.data, "-U", "postgres", "--auth=trust",
                          "--no-locale", "-E", "UTF8"])
        with open(os.path.join(self.data, "postgresql.conf"), "a") as conf:
            conf.write(f"""
listen_addresses = '127.0.0.1'
port = {PG_PORT}
unix_socket_directories = '{self.root}'
max_connections = 100
shared_buffers = 512MB
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = top
log_autovacuum_min_duration = 0
log_checkpoints = on
# As README advises for the access log's WAL: without it, each new 16 MB segment (one every few
# tenths of a second under a list scenario) is zero-filled while commits wait — in a fresh
# cluster every segment is new, none is recycled yet (list p99 67–76 ms against 30–37 ms).
wal_init_zero = off
{PG_SETTINGS}
""")
        run(self.as_pg + [f"{self.bin}/pg_ctl", "-D", self.data, "-l",
                          os.path.join(self.root, "server.log"), "-w", "start"])
        self.psql("postgres", f"CREATE DATABASE {PG_DB}")
        self.psql(PG_DB, "CREATE EXTENSION pg_stat_statements")
        self.url = f"postgres://postgres@127.0.0.1:{PG_PORT}/{PG_DB}"

    def psql(self, db, sql):
        return run(["psql", "-h", "127.0.0.1", "-p", str(PG_PORT), "-U", "postgres", "-d", db,
                    "-tAq", "-c", sql]).strip()

    def reset_statements(self):
        self.psql(PG_DB, "SELECT pg_stat_statements_reset()")

    def statements(self):
        return int(self.psql(PG_DB, "SELECT coalesce(sum(s.calls), 0) FROM pg_stat_statements s "
                                    f"JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = '{PG_DB}'"))

    def settle(self):
        """What autovacuum and the checkpointer would have done by the time a database that had an
        import serves reads: statistics for the planner, visibility maps, the import's writes on disk
        (without it the first scenario ran at under half its speed beside autovacuum and a checkpoint)."""
        self.psql(PG_DB, "VACUUM (ANALYZE)")
        self.psql(PG_DB, "CHECKPOINT")

    def cpu_seconds(self):
        return cluster_cpu_seconds(self.data)

    def wal_bytes(self):
        """How much write-ahead log the cluster has written since it began."""
        return int(self.psql(PG_DB, "SELECT (pg_current_wal_lsn() - '0/0')::bigint"))

    def database_bytes(self):
        return int(self.psql(PG_DB, f"SELECT pg_database_size('{PG_DB}')"))

    def top_statements(self, requests, most=15):
        """The statements a scenario ran, most called first: calls per request and mean ms."""
        rows = self.psql(PG_DB, "SELECT s.calls, round(s.mean_exec_time::numeric, 3), "
                                "left(regexp_replace(s.query, '\\s+', ' ', 'g'), 140) "
                                "FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid "
                                f"WHERE d.datname = '{PG_DB}' ORDER BY s.calls DESC LIMIT {most}")
        lines = []
        for row in rows.splitlines():
            calls, mean_ms, query = row.split("|", 2)
            lines.append(f"  {int(calls) / max(requests, 1):6.2f} per request, {float(mean_ms):7.3f} ms  {query}")
        return "\n".join(lines)

    def stop(self):
        subprocess.run(self.as_pg + [f"{self.bin}/pg_ctl", "-D", self.data, "-m", "fast", "stop"],
                       capture_output=True)
        # The server's log (checkpoints, each autovacuum run) outlives the cluster: what ran beside
        # a scenario whose latency stands out.
        kept = os.path.join(ROOT, "target", "bench", "postgres.log")
        os.makedirs(os.path.dirname(kept), exist_ok=True)
        shutil.copyfile(os.path.join(self.root, "server.log"), kept)
        shutil.rmtree(self.root, ignore_errors=True)


class Service:
    """The release binary on 127.0.0.1 with its own data directory."""

    def __init__(self, database_url=None):
        self.data = tempfile.mkdtemp(prefix="sip-bench-")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(os.environ, DATA_DIR=self.data, BIND_ADDRESS=f"127.0.0.1:{self.port}",
                        JWT_HS256_SECRET=SECRET, RUST_LOG="warn", WEBHOOK_ALLOWED_HOSTS="127.0.0.1")
        self.env.pop("DATABASE_URL", None)
        for name in COMPARE:
            self.env.pop(name, None)
        if database_url:
            self.env["DATABASE_URL"] = database_url
        self.log = open(os.path.join(self.data, "service.log"), "a")
        self.start({})

    def start(self, settings, binary=BIN):
        self.process = subprocess.Popen([binary], env=dict(self.env, **settings), stdout=self.log,
                                        stderr=subprocess.STDOUT)
        for _ in range(300):
            try:
                urllib.request.urlopen(f"{self.url}/health", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"the service did not start; see {self.log.name}")

    def token(self, unit, roles, principal="region"):
        return run([BIN, "token", "--unit", unit, "--principal", principal, "--roles", roles,
                    "--subject", "bench", "--hours", "24"], env=self.env).strip()

    def get(self, path, token):
        request = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token}"})
        return json.load(urllib.request.urlopen(request, timeout=60))

    def cpu_seconds(self):
        """User and system CPU time the service has used so far."""
        return process_cpu_seconds(self.process.pid)

    def peak_rss_mb(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            kb = int(re.search(r"VmHWM:\s+(\d+)", status.read()).group(1))
        return kb / 1024

    def database_bytes(self):
        return sum(os.path.getsize(p) for p in glob.glob(os.path.join(self.data, "*.sqlite3*")))

    def restart(self, settings, binary):
        """A binary on the same database, with these settings besides the usual ones."""
        self.process.terminate()
        self.process.wait(timeout=30)
        self.start(settings, binary)

    def stop(self):
        self.process.terminate()
        self.process.wait(timeout=30)
        shutil.rmtree(self.data, ignore_errors=True)


def import_plans(service, plans_file):
    token = service.token(REGION, "import,read")
    request = urllib.request.Request(
        f"{service.url}/api/v1/imports", data=json.dumps({"source_system": "bench"}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    import_id = json.load(urllib.request.urlopen(request))["id"]
    start = time.time()
    report = run(["curl", "-sf", "-H", f"Authorization: Bearer {token}", "-H",
                  "Content-Type: application/x-ndjson", "-X", "POST", "-T", plans_file,
                  f"{service.url}/api/v1/imports/{import_id}/records"])
    seconds = time.time() - start
    counts = json.loads(report)["counts"]
    if counts["failed"] or counts["lines_read"] != PLANS:
        raise RuntimeError(f"the import did not take every plan: {counts}")
    return PLANS / seconds, seconds


def follow_feed(service):
    token = service.token(REGION, "read")
    after, events, start = 0, 0, time.time()
    while True:
        page = service.get(f"/api/v1/events?after={after}&limit=1000", token)
        events += len(page["items"])
        after = page["next_after"]
        if not page["items"] and after >= page["head"]:
            break
    return events, events / (time.time() - start)


def plan_and_individual_ids(service, directory, most=20_000):
    token = service.token(REGION, "read")
    plans, individuals, pairs, cursor = [], set(), [], None
    while len(plans) < most:
        page = service.get("/api/v1/plans?status=established&limit=200"
                           + (f"&cursor={cursor}" if cursor else ""), token)
        plans += [p["id"] for p in page["items"]]
        individuals |= {p["individual_id"] for p in page["items"]}
        pairs += [f'{p["id"]} {p["individual_id"]}' for p in page["items"]]
        cursor = page.get("next_cursor")
        if not cursor:
            break
    files = {}
    for name, ids in (("plans", plans), ("individuals", sorted(individuals)), ("pairs", pairs)):
        files[name] = os.path.join(directory, f"{name}.txt")
        with open(files[name], "w") as f:
            f.write("\n".join(ids) + "\n")
    return files


def wrk(url, script, env):
    out = run(["timeout", str(DURATION + 20), "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}",
               f"-d{DURATION}s", "--timeout", "5s", "--latency", "-s", script, url],
              env=dict(os.environ, **env))
    line = next(l for l in out.splitlines() if l.startswith("RESULT"))
    return {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}


def grow_access_log(service, cluster, records):
    """`records` access records and their seals appended to the log, as if months of reads had
    been logged and sealed: the service stopped meanwhile, then started again. The seals' hashes
    are not a chain (`sip-service audit verify` would say so); the sealer only reads the records
    after the last seal, so it takes them as sealed."""
    service.process.terminate()
    service.process.wait(timeout=30)
    events = ("INSERT INTO audit_events (id, occurred_at, subject, unit, principal, action, "
              "resource_type, result, status, request_id) SELECT g, {now}, 'bench', "
              f"'{REGION}', 'region', 'read', 'plans', 'allowed', 200, 'bench' FROM {{series}}")
    seals = ("INSERT INTO audit_seals (chain_seq, event_id, hash, sealed_at) "
             "SELECT {seq} + (g - {last}), g, 'bench', {now} FROM {series}")
    if cluster:
        last = int(cluster.psql(PG_DB, "SELECT coalesce(max(id), 0) FROM audit_events"))
        seq = int(cluster.psql(PG_DB, "SELECT coalesce(max(chain_seq), 0) FROM audit_seals"))
        series = f"generate_series({last + 1}, {last + records}) g"
        cluster.psql(PG_DB, events.format(now="now()", series=series))
        cluster.psql(PG_DB, seals.format(seq=seq, last=last, now="now()", series=series))
        cluster.psql(PG_DB, f"SELECT setval('audit_events_id_seq', {last + records})")
        cluster.settle()
    else:
        import sqlite3
        db = sqlite3.connect(os.path.join(service.data, "sip.sqlite3"))
        last = db.execute("SELECT coalesce(max(id), 0) FROM audit_events").fetchone()[0]
        seq = db.execute("SELECT coalesce(max(chain_seq), 0) FROM audit_seals").fetchone()[0]
        series = (f"(WITH RECURSIVE s(g) AS (SELECT {last + 1} UNION ALL SELECT g + 1 FROM s "
                  f"WHERE g < {last + records}) SELECT g FROM s)")
        now = "strftime('%Y-%m-%d %H:%M:%f', 'now')"
        db.execute(events.format(now=now, series=series))
        db.execute(seals.format(seq=seq, last=last, now=now, series=series))
        db.commit()
        db.close()
    service.start({})


UNSEALED = ("SELECT count(*) FROM audit_events e WHERE e.id > "
            "(SELECT coalesce(max(event_id), 0) - 10000 FROM audit_seals) "
            "AND NOT EXISTS (SELECT 1 FROM audit_seals s WHERE s.event_id = e.id)")


def unsealed_records(service, cluster):
    """How many access records wait for their seal: the work a scenario leaves for later, which
    the next scenario's figures pay for (the sealer seals at most 500 records a second)."""
    if cluster:
        return int(cluster.psql(PG_DB, UNSEALED))
    import sqlite3
    db = sqlite3.connect(f"file:{os.path.join(service.data, 'sip.sqlite3')}?mode=ro", uri=True)
    try:
        return db.execute(UNSEALED).fetchone()[0]
    finally:
        db.close()


def wait_until_sealed(service, cluster, backend):
    """Waits (at most five minutes) until no access record waits for its seal (BENCH_SEALED)."""
    start = time.time()
    while time.time() - start < 300:
        left = unsealed_records(service, cluster)
        if left == 0:
            log(f"[{backend}] sealed after {time.time() - start:.0f} s")
            return
        time.sleep(2)
    log(f"[{backend}] still {left} records unsealed after 300 s; going on")


def bench_backend(backend, plans_file, work):
    cluster = Postgres() if backend == "postgres" else None
    service = Service(cluster.url if cluster else None)
    try:
        log(f"[{backend}] importing {PLANS} plans …")
        if cluster:
            cluster.reset_statements()
        # The empty database (the template's catalogue and our schema: 8–9 MB on PostgreSQL) is
        # counted apart, so that the import's own bytes a plan read the same at 1,000 plans as at
        # 100,000.
        empty = (cluster or service).database_bytes()
        per_second, seconds = import_plans(service, plans_file)
        total = (cluster or service).database_bytes()
        rows = {"import": {"plans_per_s": per_second, "seconds": seconds,
                           "bytes_per_plan": total / PLANS,
                           "imported_bytes_per_plan": (total - empty) / PLANS}}
        if cluster:
            rows["import"]["statements"] = cluster.statements() / PLANS
            if SHOW_STATEMENTS:
                log(cluster.top_statements(PLANS, most=40))
        log(f"[{backend}] import: {per_second:.0f} plans/s; following the change feed …")
        events, events_per_s = follow_feed(service)
        rows["feed"] = {"events": events, "events_per_s": events_per_s}
        if cluster:
            cluster.settle()
        if LOG_RECORDS:
            log(f"[{backend}] adding {LOG_RECORDS} sealed access records …")
            grow_access_log(service, cluster, LOG_RECORDS)
        ids = plan_and_individual_ids(service, work)
        region = service.token(REGION, "read,write")
        municipality = service.token(MUNICIPALITY, "read,write", principal="municipality")
        auditor = service.token(REGION, "audit")
        small_unit = service.token(SMALL_UNIT, "read")
        scenarios = [("document", "byid.lua", region, "/document"), ("plan", "byid.lua", region, ""),
                     # The plan as the meeting established it: stored deflated, inflated each read.
                     ("revision", "byid.lua", region, "/revisions/1"),
                     ("list", "list.lua", region, ""), ("list_by_consent", "list.lua", municipality, ""),
                     ("list_by_small_unit", "list.lua", small_unit, ""),
                     ("create", "create.lua", region, ""),
                     ("update", "update.lua", region, ""),
                     ("worklist", "path.lua", region, "/api/v1/worklists/unanswered-summons?limit=50"),
                     ("deviations", "path.lua", region, "/api/v1/deviations?limit=50"),
                     ("audit", "path.lua", auditor, "/api/v1/audit-events?limit=50")]
        comparing = bool(COMPARE or BIN_B)
        variants = [("base", {}, BIN)] + ([("compare", COMPARE, BIN_B or BIN)] if comparing else [])
        runs = {}
        for round_ in range(ROUNDS):
            for variant, settings, binary in (variants if round_ % 2 == 0 else variants[::-1]):
                if comparing:
                    service.restart(settings, binary)
                for name, script, token, suffix in [s for s in scenarios if s[0] in SCENARIOS]:
                    if SEALED:
                        wait_until_sealed(service, cluster, backend)
                    log(f"[{backend}] {name} ({variant}, round {round_ + 1}) …")
                    if cluster:
                        cluster.reset_statements()
                    cpu_before = service.cpu_seconds()
                    db_cpu_before = cluster.cpu_seconds() if cluster else 0
                    wal_before = cluster.wal_bytes() if cluster else 0
                    result = wrk(service.url, os.path.join(WRK, script),
                                 {"BENCH_TOKEN": token, "BENCH_PLAN_IDS": ids["plans"],
                                  "BENCH_INDIVIDUAL_IDS": ids["individuals"], "BENCH_PAIRS": ids["pairs"],
                                  "BENCH_SCENARIO": name,
                                  "BENCH_PATH_SUFFIX": suffix})
                    # The service's own CPU per request (not the database's): what its code costs,
                    # far steadier from run to run than latency on a machine wrk shares.
                    result["cpu_us"] = ((service.cpu_seconds() - cpu_before) * 1e6
                                        / max(result["requests"], 1))
                    if cluster:
                        result["db_cpu_us"] = ((cluster.cpu_seconds() - db_cpu_before) * 1e6
                                               / max(result["requests"], 1))
                        result["statements"] = cluster.statements() / max(result["requests"], 1)
                        # The log a request writes (its access record, a write's rows): what
                        # checkpoints, replicas and backups carry.
                        result["wal_bytes"] = ((cluster.wal_bytes() - wal_before)
                                               / max(result["requests"], 1))
                        if SHOW_STATEMENTS:
                            log(cluster.top_statements(result["requests"]))
                    result["unsealed"] = unsealed_records(service, cluster)
                    runs.setdefault(name, {}).setdefault(variant, []).append(result)
        for name, by_variant in runs.items():
            rows[name] = median_run(by_variant["base"])
            if comparing:
                rows[name]["rounds"] = by_variant
        rows["peak_rss_mb"] = service.peak_rss_mb()
        return rows
    finally:
        service.stop()
        if cluster:
            cluster.stop()


def median_run(results):
    """Each figure's median over the rounds."""
    def median(values):
        values = sorted(values)
        middle = len(values) // 2
        return values[middle] if len(values) % 2 else (values[middle - 1] + values[middle]) / 2
    return {key: median([r[key] for r in results]) for key in results[0]}


def bench_peer():
    """The PostgREST peer's scenarios, with the harness's own scripts and data."""
    if not os.path.isdir(SHARED):
        raise RuntimeError(f"BENCH_PEER=1 needs the harness at {SHARED}")
    log("[peer] starting PostgREST over its seeded schema …")
    subprocess.run([os.path.join(SHARED, "peer-postgrest.sh"), "up"], check=True, capture_output=True)
    try:
        url = "http://127.0.0.1:53000"
        # The harness's own places (`env.sh`): its cluster and PostgREST's pid.
        peer_data, peer_pid_file = "/tmp/harness-pg/data", "/tmp/harness-postgrest/postgrest.pid"
        with open(peer_pid_file) as f:
            peer_pid = int(f.read())
        results = {}
        for name, script in (("byid", "byid.lua"), ("list", "list.lua"), ("create", "create.lua")):
            log(f"[peer] {name} …")
            cpu_before = process_cpu_seconds(peer_pid)
            db_cpu_before = cluster_cpu_seconds(peer_data)
            out = run(["timeout", str(DURATION + 20), "wrk", f"-t{THREADS}", f"-c{CONNECTIONS}",
                       f"-d{DURATION}s", "--timeout", "5s", "--latency", "-s",
                       os.path.join(SHARED, "wrk", script), url])
            line = next(l for l in out.splitlines() if l.startswith("RESULT"))
            results[name] = {k: float(v) for k, v in re.findall(r"(\w+)=([\d.]+)", line)}
            requests = max(results[name]["requests"], 1)
            results[name]["cpu_us"] = (process_cpu_seconds(peer_pid) - cpu_before) * 1e6 / requests
            results[name]["db_cpu_us"] = (cluster_cpu_seconds(peer_data) - db_cpu_before) * 1e6 / requests
        subprocess.run([os.path.join(SHARED, "peer-postgrest.sh"), "cleanup"], capture_output=True)
        return results
    finally:
        subprocess.run([os.path.join(SHARED, "peer-postgrest.sh"), "down"], capture_output=True)
        subprocess.run([os.path.join(SHARED, "pg-down.sh")], capture_output=True)


PEER_OF = {"document": "byid", "plan": "byid", "revision": "byid", "list": "list", "list_by_consent": "list",
           "list_by_small_unit": "list",
           "create": "create", "update": None, "worklist": "list", "deviations": "list",
           "audit": "list"}


def report(results, peer):
    lines = [f"# make bench — {time.strftime('%Y-%m-%d %H:%M')}, {PLANS} plans, wrk -t{THREADS} "
             f"-c{CONNECTIONS} -d{DURATION}s, {os.cpu_count()} cores"
             + (f", {LOG_RECORDS:,} access records added before the scenarios" if LOG_RECORDS else ""),
             ""]
    lines += ["| backend | import plans/s | seconds | statements per plan | bytes per plan (the import's own) | "
              "feed events/s | peak RSS MB |", "|---|---|---|---|---|---|---|"]
    for backend, rows in results.items():
        i, f = rows["import"], rows["feed"]
        statements = f"{i['statements']:.0f}" if "statements" in i else "—"
        lines.append(f"| {backend} | {i['plans_per_s']:.0f} | {i['seconds']:.0f} | {statements} | "
                     f"{i['bytes_per_plan']:,.0f} ({i['imported_bytes_per_plan']:,.0f}) | {f['events_per_s']:,.0f} | {rows['peak_rss_mb']:.0f} |")
    lines += ["", "| scenario | backend | req/s | p50 ms | p99 ms | statements per request | service CPU µs per request | PostgreSQL CPU µs per request | WAL bytes per request | errors, non-2xx | access records unsealed after |"
              + (" ÷ peer |" if peer else ""),
              "|---|---|---|---|---|---|---|---|---|---|---|" + ("---|" if peer else "")]
    for scenario in [s for s in PEER_OF if s in SCENARIOS]:
        for backend, rows in results.items():
            r = rows[scenario]
            statements = f"{r['statements']:.2f}" if "statements" in r else "—"
            db_cpu = f"{r['db_cpu_us']:,.0f}" if "db_cpu_us" in r else "—"
            wal = f"{r['wal_bytes']:,.0f}" if "wal_bytes" in r else "—"
            row = (f"| {scenario} | {backend} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} | "
                   f"{statements} | {r['cpu_us']:,.0f} | {db_cpu} | {wal} | {r['errors']:.0f}, {r['non2xx']:.0f} | "
                   f"{r.get('unsealed', 0):,.0f} |")
            if peer:
                of = PEER_OF[scenario]
                row += f" {r['rps'] / peer[of]['rps']:.2f}× |" if of else " — |"
            lines.append(row)
    if COMPARE or BIN_B:
        settings = " ".join([f"{k}={v}" for k, v in COMPARE.items()] + ([f"binary {BIN_B}"] if BIN_B else []))
        lines += ["", f"Without and with `{settings}`, {ROUNDS} rounds each, alternating which runs "
                      "first; medians, then every round's p99:", "",
                  "| scenario | backend | req/s without | req/s with | Δ | p99 ms without | p99 ms with "
                  "| Δ | service CPU µs per request without / with | Δ | PostgreSQL CPU µs per request "
                  "without / with | p99 of each round without / with |",
                  "|---|---|---|---|---|---|---|---|---|---|---|---|"]
        for scenario in [s for s in PEER_OF if s in SCENARIOS]:
            for backend, rows in results.items():
                a, b = (rows[scenario]["rounds"][v] for v in ("base", "compare"))
                ma, mb = median_run(a), median_run(b)
                db_cpu = (f"{ma['db_cpu_us']:,.0f} / {mb['db_cpu_us']:,.0f}" if "db_cpu_us" in ma
                          else "—")
                each = ", ".join(f"{x['p99_ms']:.1f}" for x in a) + " / " + \
                    ", ".join(f"{x['p99_ms']:.1f}" for x in b)
                lines.append(f"| {scenario} | {backend} | {ma['rps']:,.0f} | {mb['rps']:,.0f} | "
                             f"{(mb['rps'] / ma['rps'] - 1) * 100:+.1f} % | {ma['p99_ms']:.1f} | "
                             f"{mb['p99_ms']:.1f} | {(mb['p99_ms'] / ma['p99_ms'] - 1) * 100:+.1f} % | "
                             f"{ma['cpu_us']:,.0f} / {mb['cpu_us']:,.0f} | "
                             f"{(mb['cpu_us'] / ma['cpu_us'] - 1) * 100:+.1f} % | {db_cpu} | {each} |")
    if peer:
        lines += ["", "| peer scenario (PostgREST, its own 100,000 plans) | req/s | p50 ms | p99 ms "
                      "| PostgREST CPU µs per request | PostgreSQL CPU µs per request |",
                  "|---|---|---|---|---|---|"]
        for name, r in peer.items():
            lines.append(f"| {name} | {r['rps']:,.0f} | {r['p50_ms']:.1f} | {r['p99_ms']:.1f} "
                         f"| {r['cpu_us']:,.0f} | {r['db_cpu_us']:,.0f} |")
    return "\n".join(lines) + "\n"


def main():
    if not shutil.which("wrk"):
        sys.exit("make bench needs wrk (Debian: apt-get install wrk)")
    work = tempfile.mkdtemp(prefix="sip-bench-work-")
    try:
        plans_file = os.path.join(work, "plans.ndjson")
        log(f"generating {PLANS} plans …")
        with open(plans_file, "w") as out:
            subprocess.run([sys.executable, os.path.join(ROOT, "tools/bench/generate_import.py"),
                            str(PLANS)], stdout=out, check=True)
        results = {backend: bench_backend(backend, plans_file, work) for backend in BACKENDS}
        peer = bench_peer() if PEER else None
        text = report(results, peer)
        os.makedirs(os.path.join(ROOT, "target", "bench"), exist_ok=True)
        with open(os.path.join(ROOT, "target", "bench", "report.md"), "w") as f:
            f.write(text)
        print(text)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
