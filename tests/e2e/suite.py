"""The end-to-end suite: bomc's compose output, run on a real Docker engine.

Run by scripts/e2e, which installs the tools, starts the engine and builds the
base images first (see tests/e2e/README.md). On its own:

    python3 tests/e2e/suite.py --bomc target/release/bomc [--only shop,kinds,examples]

Every check prints `ok` or `FAIL` with what it saw; the last line is
`N passed, M failed`, and the exit code is 1 when anything failed.

E2E_FAULT breaks one thing on purpose, to show the suite notices:
  probe  the application image is built without bomc-healthcheck
  port   instance b is built into another output folder, so both instances
         get the same host-port block
  order  the migration job is made to start after the application
"""

import argparse
import datetime
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
E2E = os.path.join("tests", "e2e")
FAULT = os.environ.get("E2E_FAULT", "")

passed = 0
failed = 0
# Compose projects this run started, for the teardown.
started = {}
log_file = None


def log(text):
    log_file.write(text if text.endswith("\n") else text + "\n")
    log_file.flush()


def say(text):
    print(text, flush=True)
    log(text)


def check(name, ok, detail=""):
    """Records one check; `detail` says what was seen when it failed."""
    global passed, failed
    if ok:
        passed += 1
        say(f"ok   {name}")
    else:
        failed += 1
        say(f"FAIL {name}")
        for line in str(detail).rstrip().splitlines()[-40:]:
            say(f"       {line}")
    return ok


def run(cmd, env=None, timeout=900, cwd=ROOT):
    """Runs a command, its output to the log; returns (exit code, output)."""
    log(f"$ {' '.join(cmd)}")
    full_env = dict(os.environ)
    full_env.update(env or {})
    try:
        p = subprocess.run(cmd, cwd=cwd, env=full_env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, timeout=timeout, text=True)
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode() if isinstance(e.stdout, bytes) else (e.stdout or "")
        log(out)
        return 124, out + f"\n(timed out after {timeout}s)"
    log(p.stdout)
    return p.returncode, p.stdout


def docker_json(*args):
    code, out = run(["docker", *args])
    if code != 0:
        return []
    return json.loads(out) if out.strip() else []


def parse_time(text):
    """Docker's RFC 3339 times, with nanoseconds and `Z`."""
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(\.\d+)?Z$", text)
    if not m:
        return None
    t = datetime.datetime.strptime(m.group(1), "%Y-%m-%dT%H:%M:%S").replace(
        tzinfo=datetime.timezone.utc).timestamp()
    return t + (float("0" + m.group(2)) if m.group(2) else 0.0)


class Instance:
    """One environment instance bomc built: its folder, compose file and project."""

    def __init__(self, folder):
        self.folder = folder
        self.compose_file = os.path.join(folder, "compose.yaml")
        with open(self.compose_file) as f:
            text = f.read()
        self.compose = yaml.safe_load(text)
        self.project = self.compose["name"]
        # The header names the host variables secrets are read from.
        self.secret_vars = re.findall(r"^#\s+([A-Z0-9_]+) \(secret\(\"([^\"]*)\"\)\)$", text, re.M)
        with open(os.path.join(folder, "bomc-manifest.json")) as f:
            self.manifest = json.load(f)
        self.secrets = {}

    def secret_env(self, salt):
        """A value for every secret, different per instance, with characters
        a careless quoting would break."""
        for var, name in self.secret_vars:
            self.secrets[var] = f"{salt} {name} $HOME 'sq' \"dq\" #h\\b"
        return dict(self.secrets)

    def containers(self):
        ids = run(["docker", "ps", "--all", "--quiet", "--filter",
                   f"label=com.docker.compose.project={self.project}"])[1].split()
        return docker_json("inspect", *ids) if ids else []

    def by_service(self):
        out = {}
        for c in self.containers():
            out.setdefault(c["Config"]["Labels"].get("com.docker.compose.service"), []).append(c)
        return out

    def published(self, service, target):
        for p in self.compose["services"][service].get("ports", []):
            if p["target"] == target:
                return int(str(p["published"]).split("-")[0])
        return None


def compose(inst, *args, env=None, timeout=600):
    return run(["docker", "compose", "-f", inst.compose_file, *args], env=env, timeout=timeout)


def bomc_build(bomc, bom, out, *extra):
    code, output = run([bomc, "build", bom, "--out", out, *extra])
    return code, output


def build_images(inst, source_dir=None):
    env = {"BOMC_SOURCE_DIR": source_dir} if source_dir else None
    return run(["sh", os.path.join(inst.folder, "images", "build.sh")], env=env, timeout=1800)


def up(inst, env):
    """`docker compose up --detach --wait`. Compose's --wait fails when a
    one-off container exits, even with 0, unless a running service waits for
    it (docker/compose#10596): for a job nothing depends on, that exit is not
    a failure, and the suite waits for the other services itself."""
    inst.up_since = time.time()
    code, out = compose(inst, "up", "--detach", "--wait", "--wait-timeout", "240", env=env,
                        timeout=400)
    started[inst.project] = inst
    jobs = {n for n, spec in inst.compose["services"].items() if spec.get("restart") == "no"}
    if code != 0 and jobs:
        # Decided from the containers, not from compose's wording of the
        # exit (which has varied): tolerated only when every service comes up
        # and every job ran to completion with 0.
        def failed_jobs():
            return [(c["Name"].lstrip("/"), c["State"]["ExitCode"]) for c in inst.containers()
                    if c["Config"]["Labels"].get("com.docker.compose.service") in jobs
                    and c["State"]["Status"] == "exited" and c["State"]["ExitCode"] != 0]
        if not failed_jobs() and wait_ready(inst, jobs) and not failed_jobs():
            log("tolerated: compose --wait stops at a finished job; the rest came up")
            code = 0
    return code, out


def wait_ready(inst, jobs, timeout=240):
    """Until every service's containers run (healthy where checked) and every
    job has finished."""
    expected = {n for n, spec in inst.compose["services"].items() if not spec.get("profiles")}
    end = time.time() + timeout
    while time.time() < end:
        containers = inst.containers()
        ready = expected <= {c["Config"]["Labels"].get("com.docker.compose.service")
                             for c in containers}
        for c in containers:
            service = c["Config"]["Labels"].get("com.docker.compose.service")
            state = c["State"]
            if service in jobs:
                ready &= state["Status"] == "exited"
            else:
                health = (state.get("Health") or {}).get("Status")
                ready &= state["Status"] == "running" and health in (None, "healthy")
        if ready:
            return True
        time.sleep(1)
    return False


def down(inst):
    """`docker compose down`, tried again while the engine has not yet let go
    of what it removes: a network "has active endpoints" right after its
    containers went, seen in CI, for longer than a few seconds on a loaded
    machine. Each failed try is in the log; a real failure fails every try."""
    started.pop(inst.project, None)
    for attempt in range(1, 7):
        code, out = compose(inst, "down", "--volumes", "--remove-orphans", "--timeout", "5")
        if code == 0:
            break
        log(f"docker compose down failed (try {attempt} of 6); again in {2 * attempt} s")
        time.sleep(2 * attempt)
    return code, out


def explain(inst):
    """What went wrong at `up`: each container's state and the end of its log."""
    lines = []
    for c in inst.containers():
        state = c["State"]
        health = (state.get("Health") or {}).get("Status", "-")
        lines.append(f"{c['Name'].lstrip('/')}: {state['Status']} (exit {state['ExitCode']}, "
                     f"health {health})")
        for h in ((state.get("Health") or {}).get("Log") or [])[-1:]:
            lines.append(f"  last health check: exit {h['ExitCode']} {h['Output'].strip()[:200]}")
        if state["Status"] != "running" or health not in ("-", "healthy"):
            logs = run(["docker", "logs", "--tail", "8", c["Id"]])[1]
            lines.extend("  | " + l for l in logs.rstrip().splitlines())
    return "\n".join(lines)


def http_json(port, path, tries=20):
    last = None
    for _ in range(tries):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=5) as r:
                return json.loads(r.read().decode())
        except Exception as e:  # noqa: BLE001 - report whatever it was
            last = e
            time.sleep(0.5)
    return {"error": f"GET http://127.0.0.1:{port}{path}: {last}"}


# ---------------------------------------------------------------------------
# What every running instance must satisfy


def check_running(inst, jobs=()):
    """Every service has its replicas, each healthy (or running when it has no
    health check); every job exited 0, once."""
    services = inst.by_service()
    for name, spec in sorted(inst.compose["services"].items()):
        want = spec.get("deploy", {}).get("replicas", 1)
        got = services.get(name, [])
        if name in jobs or spec.get("restart") == "no":
            states = [(c["State"]["Status"], c["State"]["ExitCode"], c["RestartCount"]) for c in got]
            check(f"{inst.project}: job {name} ran once and exited 0",
                  states == [("exited", 0, 0)], f"containers (status, exit code, restarts): {states}\n"
                  + explain(inst))
            continue
        bad = []
        for c in got:
            state = c["State"]
            has_check = bool((c["Config"].get("Healthcheck") or {}).get("Test")) and \
                c["Config"]["Healthcheck"]["Test"] != ["NONE"]
            health = (state.get("Health") or {}).get("Status")
            if state["Status"] != "running" or (has_check and health != "healthy"):
                bad.append(f"{c['Name']}: {state['Status']}, health {health}")
        kind = "healthy" if spec.get("healthcheck") else "running (no health check)"
        check(f"{inst.project}: {name} has {want} container(s), {kind}",
              len(got) == want and not bad,
              f"{len(got)} container(s), want {want}; {bad}\n" + explain(inst))


def lifecycle(inst):
    """The engine's own record of the project since `up`: for each container,
    the times (ns) it started, first turned healthy, and exited 0. Container
    inspection keeps only the last start, which a restart moves; the event
    log keeps every one."""
    since = getattr(inst, "up_since", None)
    if since is None:
        return None
    code, out = run(["docker", "events", "--since", f"{since:.3f}", "--until", f"{time.time():.3f}",
                     "--filter", "type=container",
                     "--filter", f"label=com.docker.compose.project={inst.project}",
                     "--format", "{{json .}}"], timeout=60)
    if code != 0:
        return None
    seen = {}
    for line in out.splitlines():
        try:
            e = json.loads(line)
        except ValueError:
            continue
        attrs = (e.get("Actor") or {}).get("Attributes") or {}
        name, action, at = attrs.get("name"), e.get("Action") or e.get("status") or "", e.get("timeNano")
        if not name or at is None:
            continue
        c = seen.setdefault(name, {"starts": [], "healthy": None, "done": None,
                                   "service": attrs.get("com.docker.compose.service")})
        if action == "start":
            c["starts"].append(at)
        elif action.startswith("health_status") and "unhealthy" not in action and \
                ("healthy" in action or attrs.get("health_status") == "healthy"):
            c["healthy"] = c["healthy"] or at
        elif action == "die" and attrs.get("exitCode") == "0":
            c["done"] = c["done"] or at
    return seen


def check_order(inst):
    """Each container first started after what it depends on was ready: a job
    finished with 0, a dependency started, or (service_healthy) first turned
    healthy. Read from the engine's events, so a later restart of either
    side cannot hide or fake an order."""
    events = lifecycle(inst)
    if events is None:
        check(f"{inst.project}: the engine's events since up can be read", False,
              "docker events failed; see the suite log")
        return
    by_service = {}
    for name, c in events.items():
        by_service.setdefault(c["service"], []).append((name, c))
    for name, c in sorted(events.items()):
        if len(c["starts"]) > 1:
            log(f"{inst.project}: {name} started {len(c['starts'])} times")
    stamp = lambda ns: datetime.datetime.fromtimestamp(ns / 1e9, datetime.timezone.utc).strftime(
        "%H:%M:%S.%f") if ns else "never"
    for name, spec in sorted(inst.compose["services"].items()):
        for dep, how in sorted((spec.get("depends_on") or {}).items()):
            condition = how.get("condition", "service_started")
            what, key = {"service_completed_successfully": ("finished with 0", "done"),
                         "service_healthy": ("turned healthy", "healthy")}.get(condition, ("started", None))
            problems = []
            for cname, c in sorted(by_service.get(name, [])):
                start = min(c["starts"], default=None)
                for dname, d in sorted(by_service.get(dep, [])):
                    ready = d[key] if key else min(d["starts"], default=None)
                    if ready is None or start is None or start < ready:
                        problems.append(f"{cname} first started {stamp(start)}, "
                                        f"but {dname} {what} {stamp(ready)}")
            check(f"{inst.project}: {name} started after {dep} ({condition})",
                  not problems and by_service.get(name) and by_service.get(dep),
                  "\n".join(problems) or f"containers: {name} {len(by_service.get(name, []))}, "
                  f"{dep} {len(by_service.get(dep, []))}")


def resources(inst):
    """The containers, networks, volumes and host ports of a project."""
    label = f"label=com.docker.compose.project={inst.project}"
    containers = set(run(["docker", "ps", "-a", "-q", "--no-trunc", "--filter", label])[1].split())
    networks = set(run(["docker", "network", "ls", "-q", "--no-trunc", "--filter", label])[1].split())
    volumes = set(run(["docker", "volume", "ls", "-q", "--filter", label])[1].split())
    ports = set()
    for c in inst.containers():
        for bindings in (c["NetworkSettings"].get("Ports") or {}).values():
            for b in bindings or []:
                ports.add(int(b["HostPort"]))
        # The networks each container is attached to, by id.
        for n in (c["NetworkSettings"].get("Networks") or {}).values():
            networks.add(n["NetworkID"])
    return {"containers": containers, "networks": networks, "volumes": volumes, "ports": ports}


def bomc_labelled(source):
    """Containers, networks and volumes bomc labelled for landscapes of `source`."""
    label = f"label=org.bomc.source={source}"
    return {
        "containers": run(["docker", "ps", "-a", "--format", "{{.Names}}", "--filter", label])[1].split(),
        "networks": run(["docker", "network", "ls", "--format", "{{.Name}}", "--filter", label])[1].split(),
        "volumes": run(["docker", "volume", "ls", "--format", "{{.Name}}", "--filter", label])[1].split(),
    }



# ---------------------------------------------------------------------------
# Images no registry can give: made here, tagged as bomc's output names them

# Repository → the folder of tests/e2e whose Dockerfile makes a stand-in.
RECIPES = {
    "golang": "golang",
    "haproxy": "haproxy",
    "postgres": "postgres",
    "redis": "redis",
    "mysql": "mariadb",
    "rabbitmq": "rabbitmq",
}


def external_images(inst):
    """The images an instance's files name that bomc does not build: compose
    `image:` of services without `build:`, and the `FROM`s of its Dockerfiles."""
    refs = set()
    for spec in inst.compose["services"].values():
        if "build" not in spec and spec.get("image"):
            refs.add(spec["image"])
    images = os.path.join(inst.folder, "images")
    built = set()
    if os.path.exists(os.path.join(images, "build.sh")):
        built = set(re.findall(r"--tag '([^']+)'", open(os.path.join(images, "build.sh")).read()))
    for name in sorted(os.listdir(images)) if os.path.isdir(images) else []:
        path = os.path.join(images, name, "Dockerfile")
        if os.path.exists(path):
            for m in re.finditer(r"^FROM (\S+)", open(path).read(), re.M):
                refs.add(m.group(1))
    return refs - built


def recipe_hash(folder):
    h = hashlib.sha256()
    h.update(run(["docker", "image", "inspect", "--format", "{{.Id}}", "debian:12.5-slim"])[1].encode())
    for base, _, files in sorted(os.walk(folder)):
        for f in sorted(files):
            path = os.path.join(base, f)
            h.update(os.path.relpath(path, folder).encode() + b"\0")
            h.update(open(path, "rb").read())
    return h.hexdigest()[:16]


def prepare(instances):
    """Makes every image the instances name and bomc does not build, unless
    it is there already from the same recipe."""
    ok = True
    for ref in sorted(set().union(*(external_images(i) for i in instances))):
        if ref == "debian:12.5-slim":
            code, _ = run(["docker", "image", "inspect", ref])
            ok &= check(f"image {ref} is there (scripts/e2e imports it)", code == 0,
                        "run scripts/e2e, which makes it with debootstrap")
            continue
        repo = ref.split(":")[0]
        if repo not in RECIPES:
            ok &= check(f"image {ref} can be made here", False,
                        f"no recipe for `{repo}` in tests/e2e (see RECIPES in suite.py)")
            continue
        folder = os.path.join(E2E, RECIPES[repo])
        want = recipe_hash(folder)
        code, have = run(["docker", "image", "inspect", "--format",
                          '{{index .Config.Labels "bomc-e2e.recipe"}}', ref])
        if code == 0 and have.strip() == want:
            log(f"{ref}: cached (recipe {want})")
            continue
        say(f"     building {ref} from {folder} (Debian packages)")
        code, output = run(["docker", "build", "--label", f"bomc-e2e.recipe={want}",
                            "--tag", ref, folder], timeout=1200)
        ok &= check(f"image {ref} built from {folder}", code == 0, output)
    return ok

# ---------------------------------------------------------------------------
# The shop: two instances of an ephemeral environment, side by side


def break_probe(inst):
    """Fault `probe`: the application image loses bomc-healthcheck."""
    path = os.path.join(inst.folder, "images", "app", "Dockerfile")
    with open(path) as f:
        text = f.read()
    with open(path, "w") as f:
        f.write(re.sub(r"^COPY --from=probe /bomc-healthcheck .*\n", "", text, flags=re.M))


def break_order(inst):
    """Fault `order`: the job waits for the application instead of the reverse."""
    with open(inst.compose_file) as f:
        doc = yaml.safe_load(f)
    web = doc["services"]["web"]
    web["depends_on"].pop("migrate", None)
    doc["services"]["migrate"].setdefault("depends_on", {})["web"] = {"condition": "service_healthy"}
    with open(inst.compose_file, "w") as f:
        yaml.safe_dump(doc, f, sort_keys=False)
    # inst.compose stays as bomc wrote it: the order checks hold the run to it.


def shop(bomc, work):
    say("== shop: two instances of environment `story`, side by side (tests/e2e/shop.bom)")
    bom = os.path.join(E2E, "shop.bom")
    out = os.path.join(work, "out")
    now = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    instances = {}
    for ident in ("a", "b"):
        # Fault `port`: b in a folder of its own, where it gets the first port block too.
        target = os.path.join(work, "out-b") if FAULT == "port" and ident == "b" else out
        code, output = bomc_build(bomc, bom, target, "--env", "story", "--set", f"id={ident}",
                                  "--now", stamp)
        folder = os.path.join(target, "shop", f"story-{ident}")
        if not check(f"bomc build --env story --set id={ident}", code == 0 and
                     os.path.exists(os.path.join(folder, "compose.yaml")), output):
            return
        instances[ident] = Instance(folder)
    if FAULT == "probe":
        for inst in instances.values():
            break_probe(inst)
    if FAULT == "order":
        break_order(instances["a"])

    if not prepare(instances.values()):
        return
    for ident, inst in instances.items():
        code, output = build_images(inst)
        if not check(f"{inst.project}: images/build.sh", code == 0, output):
            return
    envs = {}
    for ident, inst in instances.items():
        envs[ident] = inst.secret_env(f"secret-of-{ident}")
        check(f"{inst.project}: the compose header names the secrets' variables",
              sorted(v for v, _ in inst.secret_vars) == ["SHOP_APP", "SHOP_DB"], inst.secret_vars)
        code, output = up(inst, envs[ident])
        if not check(f"{inst.project}: docker compose up --detach --wait", code == 0,
                     output + "\n" + explain(inst)):
            continue

    a, b = instances["a"], instances["b"]
    for ident, inst in instances.items():
        check_running(inst, jobs=("migrate",))
        check_order(inst)
        port = inst.published("lb", 80)
        info = http_json(port, "/info") if port else {"error": "lb publishes no port 80"}
        check(f"{inst.project}: the application answers through the load balancer on host port {port}",
              "error" not in info, info)
        check(f"{inst.project}: the load balancer routes to this instance's application",
              info.get("instance") == f"{ident}.shop.example.com", info)
        want = hashlib.sha256(inst.secrets["SHOP_APP"].encode()).hexdigest()
        check(f"{inst.project}: secret shop/app reached the application as APP_SECRET, unchanged",
              info.get("secret_set") and info.get("secret_sha256") == want,
              f"/info says {info.get('secret_sha256')}, sha256 of the value given is {want}")
        check(f"{inst.project}: the application reached its database (password from secret shop/db)",
              info.get("database") is True, info.get("database_error", info))
        check(f"{inst.project}: the application reached its cache", info.get("cache") is True,
              info.get("cache_error", info))
        check(f"{inst.project}: the migration ran exactly once (one marker row)",
              info.get("migrations") == 1, f"marker rows: {info.get('migrations')}")
        # Both replicas of the application answer behind the load balancer.
        web = [c["Config"]["Hostname"] for c in inst.by_service().get("web", [])]
        seen = set()
        for _ in range(20):
            seen.add(http_json(port, "/info", tries=2).get("hostname"))
            if seen >= set(web):
                break
        check(f"{inst.project}: the load balancer reaches every replica of web ({len(web)})",
              len(web) == 2 and set(web) <= seen, f"replicas {web}, answered {sorted(map(str, seen))}")

    ra, rb = resources(a), resources(b)
    for what in ("containers", "networks", "volumes", "ports"):
        shared = ra[what] & rb[what]
        check(f"the two instances share no {what} ({len(ra[what])} and {len(rb[what])})",
              bool(ra[what]) and bool(rb[what]) and not shared,
              f"shared: {sorted(map(str, shared))}")

    # bomc envs: both built here, and running.
    code, output = run([bomc, "envs", "--out", out, "--format", "json"])
    listed = json.loads(output) if code == 0 else []
    for inst in instances.values():
        entry = next((e for e in listed if e.get("project") == inst.project), None)
        check(f"bomc envs --out lists {inst.project} as running",
              entry is not None and entry.get("running", 0) > 0 and not entry.get("expired"),
              json.dumps(entry) if entry else output)

    # bomc reap: nothing before expiry, everything after.
    expiry = max(parse_time(i.manifest["expires"]) for i in instances.values())
    before = datetime.datetime.fromtimestamp(expiry - 60, datetime.timezone.utc)
    code, output = run([bomc, "reap", "--out", out, "--now", before.strftime("%Y-%m-%dT%H:%M:%SZ")])
    alive = [i.project for i in instances.values() if resources(i)["containers"]]
    check("bomc reap a minute before expiry takes nothing down",
          code == 0 and len(alive) == len(instances), f"exit {code}; running: {alive}\n{output}")
    after = datetime.datetime.fromtimestamp(expiry + 1, datetime.timezone.utc)
    code, output = run([bomc, "reap", "--out", out, "--now", after.strftime("%Y-%m-%dT%H:%M:%SZ")],
                       timeout=300)
    check("bomc reap after expiry exits 0", code == 0, output)
    for inst in instances.values():
        if not resources(inst)["containers"]:
            started.pop(inst.project, None)
    left = bomc_labelled(bom)
    for what, names in left.items():
        check(f"after bomc reap no {what} labelled by bomc are left", not names, names)


# ---------------------------------------------------------------------------
# The stdlib kinds whose engines Debian packages


def kinds(bomc, work):
    say("== kinds: postgres, mysql, redis, rabbitmq and a job (tests/e2e/kinds.bom)")
    bom = os.path.join(E2E, "kinds.bom")
    out = os.path.join(work, "out")
    code, output = bomc_build(bomc, bom, out, "--env", "ci")
    folder = os.path.join(out, "kinds", "ci")
    if not check("bomc build --env ci", code == 0, output):
        return
    inst = Instance(folder)
    if not prepare([inst]):
        return
    code, output = build_images(inst)
    if not check(f"{inst.project}: images/build.sh", code == 0, output):
        return
    code, output = up(inst, inst.secret_env("kinds"))
    check(f"{inst.project}: docker compose up --detach --wait", code == 0,
          output + "\n" + explain(inst))
    check_running(inst, jobs=("check",))
    check_order(inst)
    # What the job saw, one check per engine.
    job = inst.by_service().get("check", [])
    lines = run(["docker", "logs", job[0]["Id"]])[1].splitlines() if job else []
    results = [l for l in lines if l.startswith(("ok   ", "FAIL "))]
    check(f"{inst.project}: the job reported on 4 engines", len(results) == 4, "\n".join(lines))
    for line in results:
        check(f"{inst.project}: job check: {line[5:].split(':')[0]}", line.startswith("ok"), line)
    # How each secret reached its engine: _FILE for postgres and mysql, the
    # variable itself for rabbitmq (its entrypoint refuses _FILE).
    env = {k: v.get("environment", {}) for k, v in inst.compose["services"].items()}
    check("postgres gets POSTGRES_PASSWORD_FILE, mysql MYSQL_PASSWORD_FILE, rabbitmq RABBITMQ_DEFAULT_PASS",
          "POSTGRES_PASSWORD_FILE" in env["db"] and "MYSQL_PASSWORD_FILE" in env["legacy"]
          and "RABBITMQ_DEFAULT_PASS" in env["queue"], json.dumps(env, indent=1))
    code, output = run([bomc, "reap", "--out", out, "--now",
                        datetime.datetime.fromtimestamp(parse_time(inst.manifest["expires"]) + 1,
                                                        datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")],
                       timeout=300)
    if not resources(inst)["containers"]:
        started.pop(inst.project, None)
    left = bomc_labelled(bom)
    check("bomc reap removed the kinds instance: no container, network or volume left",
          code == 0 and not any(left.values()), f"exit {code}\n{output}\nleft: {left}")


# ---------------------------------------------------------------------------
# The examples' persistent environments whose images can be built here

# Example → the stand-in sources it builds from: folder → (Go module, so the
# binary has the name the example's entrypoint runs; the port it serves when
# the example passes none). The examples ship no application sources: the
# suite's application (tests/e2e/app) stands in for each Go service.
EXAMPLES = {
    "books": {"books": ("books", None)},
    "messenger": {"go-auth": ("go-auth", "9000")},
    "messenger-bluegreen": {"go-auth": ("go-auth", "9000"), "go-auth-next": ("go-auth", "9000")},
}


def stand_in_sources(work, stand_ins):
    src = os.path.join(work, "src")
    for folder, (module, port) in stand_ins.items():
        target = os.path.join(src, folder)
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(os.path.join(E2E, "app"), target)
        with open(os.path.join(target, "go.mod"), "w") as f:
            f.write(f"module {module}\n\ngo 1.19\n")
        if port:
            with open(os.path.join(target, "standin.go"), "w") as f:
                f.write('package main\n\nimport "os"\n\nfunc init() {\n'
                        f'\tif os.Getenv("PORT") == "" {{\n\t\tos.Setenv("PORT", "{port}")\n\t}}\n}}\n')
    return src


def persistent_environments(bomc, bom):
    code, output = run([bomc, "envs", bom, "--format", "json"])
    return [e["name"] for e in json.loads(output) if e["kind"] == "persistent"] if code == 0 else []


def examples(bomc, work):
    say("== examples: the persistent environments of the examples whose images can be built here")
    for example, stand_ins in EXAMPLES.items():
        bom = os.path.join("examples", f"{example}.bom")
        src = stand_in_sources(os.path.join(work, example), stand_ins)
        for env in persistent_environments(bomc, bom):
            out = os.path.join(work, example, "out")
            code, output = bomc_build(bomc, bom, out, "--env", env)
            if not check(f"{example} {env}: bomc build", code == 0, output):
                continue
            folder = next(os.path.join(out, l, env) for l in sorted(os.listdir(out))
                          if os.path.isdir(os.path.join(out, l, env)))
            inst = Instance(folder)
            if not prepare([inst]):
                continue
            code, output = build_images(inst, source_dir=src)
            if not check(f"{inst.project}: images/build.sh (stand-in sources)", code == 0, output):
                continue
            code, output = up(inst, inst.secret_env(env))
            check(f"{inst.project}: docker compose up --detach --wait", code == 0,
                  output + "\n" + explain(inst))
            check_running(inst)
            check_order(inst)
            for name, svc in sorted(inst.compose["services"].items()):
                for p in svc.get("ports", []):
                    port = int(str(p["published"]).split("-")[0])
                    info = http_json(port, "/info")
                    check(f"{inst.project}: {name} answers on host port {port}", "error" not in info, info)
                    if "error" in info:
                        continue
                    db = [v for v, n in inst.secret_vars if n.endswith("/db")]
                    if db:
                        want = hashlib.sha256(inst.secrets[db[0]].encode()).hexdigest()
                        check(f"{inst.project}: the database password reached the service as DB_PASSWORD",
                              info.get("db_password_sha256") == want, info)
                    check(f"{inst.project}: the service behind {name} reached its database",
                          info.get("database") is True, info.get("database_error", info))
            code, output = down(inst)
            left = bomc_labelled(bom)
            check(f"{inst.project}: docker compose down --volumes leaves nothing bomc labelled",
                  code == 0 and not any(left.values()), f"{output}\nleft: {left}")


# ---------------------------------------------------------------------------


def main():
    global log_file
    parser = argparse.ArgumentParser()
    parser.add_argument("--bomc", default=os.path.join(ROOT, "target", "release", "bomc"))
    parser.add_argument("--work", default=os.path.join(ROOT, ".e2e-cache", "run"))
    parser.add_argument("--only", default="shop")
    parser.add_argument("--keep", action="store_true", help="leave the stacks running")
    args = parser.parse_args()
    bomc = os.path.abspath(args.bomc)
    shutil.rmtree(args.work, ignore_errors=True)
    os.makedirs(args.work)
    log_file = open(os.path.join(args.work, "suite.log"), "w")
    say(f"end-to-end suite: log in {os.path.relpath(log_file.name, ROOT)}"
        + (f"; fault injected: {FAULT}" if FAULT else ""))
    phases = {"shop": shop, "kinds": kinds, "examples": examples}
    try:
        for name in args.only.split(","):
            begin = time.time()
            phases[name](bomc, os.path.join(args.work, name))
            say(f"== {name}: {time.time() - begin:.0f} s")
    finally:
        if not args.keep:
            for inst in list(started.values()):
                down(inst)
    say(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    os.chdir(ROOT)
    sys.exit(main())
