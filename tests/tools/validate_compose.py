#!/usr/bin/env python3
"""Validates compose files that bomc wrote.

usage: validate_compose.py [--check CHECK[,CHECK...]] SCHEMA FILE...

SCHEMA is the Compose Specification schema: tests/tools/compose-spec.json, an
unmodified copy of `schema/compose-spec.json` from github.com/compose-spec/compose-go
at commit e70e961c3a3acebf0800b882f1afb3dbf1fb74a2 (Apache License 2.0), the
schema Docker Compose v2 validates with.

Each FILE is checked for (all three unless --check names some)
  schema      the Compose Specification JSON schema (draft 2020-12);
  references  every network, volume, secret, config and depends_on target a
              service uses is declared; every service joins declared networks
              explicitly (none lands on compose's shared `default` network);
  formats     what the schema leaves open because it allows `${VAR}` in
              every field: durations, replicas, ports, cpus, memory, restart
              policies, and that every `$` is escaped as `$$` (compose would
              otherwise interpolate it) — but for a service's environment
              variable whose whole value is `${VARIABLE:?message}`: a secret
              compose sets from the host environment when the stack starts.

Prints one line per problem (`FILE: check: message`) and exits 1 if there is
any, else prints nothing and exits 0.
"""

import json
import re
import sys

import jsonschema
import yaml

DURATION = re.compile(r"^(\d+(h|m|s|ms|us|ns))+$")
MEMORY = re.compile(r"^\d+[KMG]?$")
PUBLISHED = re.compile(r"^(\d+)(-(\d+))?$")
RESTART = re.compile(r"^(no|always|on-failure|on-failure:[1-9]\d*|unless-stopped)$")
# `expose` entries: a number, or "PORT/PROTO" for another protocol than TCP.
EXPOSE = re.compile(r"^([1-9]\d{0,4})/(tcp|udp)$")
# The one interpolation bomc writes on purpose: a secret's value taken from the
# host environment (compose fails to start the stack when it is unset or empty).
FROM_HOST = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*:\?[^${}]*\}$")


def strings(value, path="$"):
    """Every string value (not key) in a document, with where it is."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for k, v in value.items():
            yield from strings(v, f"{path}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from strings(v, f"{path}[{i}]")


def names(value):
    """Names from a list of strings or of {source: ...}, or the keys of a map."""
    if isinstance(value, dict):
        return list(value)
    out = []
    for item in value or []:
        out.append(item["source"] if isinstance(item, dict) else item)
    return out


def port(n):
    return isinstance(n, int) and not isinstance(n, bool) and 1 <= n <= 65535


def check_schema(doc, schema):
    validator = jsonschema.Draft202012Validator(schema)
    for error in sorted(validator.iter_errors(doc), key=lambda e: list(e.absolute_path)):
        where = "/".join(str(p) for p in error.absolute_path)
        yield f"{where}: {error.message}"


def check_references(doc):
    services = doc.get("services") or {}
    declared = {kind: set(doc.get(kind) or {}) for kind in ("networks", "volumes", "secrets", "configs")}
    if not services:
        yield "no services"
    for name, service in services.items():
        nets = names(service.get("networks"))
        if not nets and "network_mode" not in service:
            yield f"service {name} joins no network explicitly (it would share `default`)"
        for net in nets:
            if net not in declared["networks"]:
                yield f"service {name}: network {net} is not declared"
        for dep in names(service.get("depends_on")):
            if dep not in services:
                yield f"service {name}: depends_on {dep}, which is not a service"
            if dep == name:
                yield f"service {name} depends on itself"
        for mount in service.get("volumes") or []:
            if isinstance(mount, dict):
                if mount.get("type") == "volume" and mount.get("source") not in declared["volumes"]:
                    yield f"service {name}: volume {mount.get('source')} is not declared"
            else:
                source = str(mount).split(":")[0]
                if source and not source.startswith(("/", ".", "~")) and source not in declared["volumes"]:
                    yield f"service {name}: volume {source} is not declared"
        for kind in ("secrets", "configs"):
            for ref in names(service.get(kind)):
                if ref not in declared[kind]:
                    yield f"service {name}: {kind[:-1]} {ref} is not declared"
    for kind in ("networks", "volumes", "secrets", "configs"):
        used = set()
        for service in services.values():
            if kind == "volumes":
                used |= {m.get("source") for m in service.get("volumes") or [] if isinstance(m, dict)}
            else:
                used |= set(names(service.get(kind)))
        for unused in sorted(declared[kind] - used):
            yield f"{kind[:-1]} {unused} is declared but no service uses it"


def from_host(path, value):
    parts = path.split(".")
    return len(parts) >= 5 and parts[1] == "services" and parts[3] == "environment" and FROM_HOST.match(value)


def check_formats(doc):
    for path, value in strings(doc):
        if "$" in value.replace("$$", "") and not from_host(path, value):
            yield f"{path}: unescaped `$` in {value!r} (compose would interpolate it)"
    for name, service in (doc.get("services") or {}).items():
        health = service.get("healthcheck") or {}
        for key in ("interval", "timeout", "start_period", "start_interval"):
            if key in health and not DURATION.match(str(health[key])):
                yield f"service {name}: healthcheck.{key} {health[key]!r} is not a duration"
        if "retries" in health and not (isinstance(health["retries"], int) and health["retries"] >= 1):
            yield f"service {name}: healthcheck.retries {health['retries']!r}"
        test = health.get("test")
        if test is not None and not (isinstance(test, list) and test and test[0] in ("CMD", "CMD-SHELL", "NONE")):
            yield f"service {name}: healthcheck.test {test!r}"
        deploy = service.get("deploy") or {}
        if "replicas" in deploy and not (isinstance(deploy["replicas"], int) and deploy["replicas"] >= 0):
            yield f"service {name}: deploy.replicas {deploy['replicas']!r}"
        limits = (deploy.get("resources") or {}).get("limits") or {}
        if "cpus" in limits:
            try:
                if float(limits["cpus"]) <= 0:
                    raise ValueError
            except ValueError:
                yield f"service {name}: cpus {limits['cpus']!r}"
        if "memory" in limits and not MEMORY.match(str(limits["memory"])):
            yield f"service {name}: memory {limits['memory']!r}"
        if "restart" in service and not RESTART.match(str(service["restart"])):
            yield f"service {name}: restart {service['restart']!r}"
        for n in service.get("expose") or []:
            m = EXPOSE.match(n) if isinstance(n, str) else None
            if not port(n) and not (m and port(int(m.group(1)))):
                yield f"service {name}: expose {n!r}"
        for p in service.get("ports") or []:
            if not isinstance(p, dict):
                yield f"service {name}: port {p!r} in short syntax"
                continue
            m = PUBLISHED.match(str(p.get("published", "")))
            if (
                not port(p.get("target"))
                or not m
                or not all(port(int(g)) for g in (m.group(1), m.group(3)) if g)
                or p.get("protocol", "tcp") not in ("tcp", "udp")
            ):
                yield f"service {name}: port {p!r}"


def main(argv):
    args = argv[1:]
    selected = {"schema", "references", "formats"}
    if args[:1] == ["--check"] and len(args) > 1:
        selected = set(args[1].split(","))
        args = args[2:]
    if len(args) < 2 or not selected <= {"schema", "references", "formats"}:
        print(__doc__, file=sys.stderr)
        return 2
    with open(args[0], encoding="utf-8") as f:
        schema = json.load(f)
    problems = []
    for path in args[1:]:
        try:
            with open(path, encoding="utf-8") as f:
                doc = yaml.safe_load(f)
        except (OSError, yaml.YAMLError) as e:
            problems.append(f"{path}: load: {e}")
            continue
        if not isinstance(doc, dict):
            problems.append(f"{path}: load: not a mapping")
            continue
        for check, run in (("schema", lambda d: check_schema(d, schema)), ("references", check_references), ("formats", check_formats)):
            if check in selected:
                problems.extend(f"{path}: {check}: {p}" for p in run(doc))
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
