#!/usr/bin/python3
"""Checks a Prometheus text-format file with an independent parser (Debian's
python3-prometheus-client): every line parses, each family has its TYPE and HELP once, every
histogram's buckets are cumulative, end with +Inf, and +Inf equals _count.
Usage: prometheus_check.py FILE [EXPECTED_FAMILIES]"""
import sys
from prometheus_client.parser import text_string_to_metric_families

text = open(sys.argv[1]).read()
families = list(text_string_to_metric_families(text))
names = [f.name for f in families]
assert len(names) == len(set(names)), f"a family twice: {names}"
for line in text.splitlines():
    assert line.strip() == line and line, f"blank or padded line: {line!r}"
hist = 0
for f in families:
    assert f.documentation, f"{f.name}: no HELP"
    assert f.type in ("gauge", "counter", "histogram"), f"{f.name}: type {f.type}"
    if f.type != "histogram":
        continue
    series = {}
    for s in f.samples:
        key = tuple(sorted((k, v) for k, v in s.labels.items() if k != "le"))
        series.setdefault(key, {"buckets": [], "count": None})
        if s.name.endswith("_bucket"):
            series[key]["buckets"].append((s.labels["le"], s.value))
        elif s.name.endswith("_count"):
            series[key]["count"] = s.value
    for key, h in series.items():
        b = h["buckets"]
        assert b and b[-1][0] == "+Inf", f"{f.name}{key}: no +Inf bucket"
        bounds = [float(le) for le, _ in b]
        assert bounds == sorted(bounds), f"{f.name}{key}: bounds out of order"
        vals = [v for _, v in b]
        assert vals == sorted(vals), f"{f.name}{key}: buckets not cumulative"
        assert h["count"] == vals[-1], f"{f.name}{key}: +Inf {vals[-1]} != _count {h['count']}"
        hist += 1
want = int(sys.argv[2]) if len(sys.argv) > 2 else 0
assert len(families) >= want, f"{len(families)} families, expected at least {want}"
print(f"prometheus_check: {len(families)} families, {hist} histogram series, all valid")
