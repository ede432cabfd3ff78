#!/usr/bin/python3
"""Prints what cloudtwin-agent reported (its status JSON, read from the guest's console)."""
import json
import sys

doc = json.load(open(sys.argv[1]))
uptime = sys.argv[2] if len(sys.argv) > 2 else "?"
total_ms = 0.0
for stage in ("local", "final"):
    s = doc.get("stages", {}).get(stage)
    if not s:
        print(f"  {stage:6} (did not run)")
        continue
    total_ms += s["duration-ms"]
    where = f" ({s['location']})" if s.get("location") else ""
    print(f"  {stage:6} datasource {s['datasource']}{where}: {'ok' if s['ok'] else 'FAILED'}, "
          f"{s['duration-ms']:.0f} ms")
    for step in s["steps"]:
        msgs = "; ".join(step["messages"]) or "-"
        print(f"           {step['name']:10} {step['result']:8} {msgs}")
print(f"  contextualization by the agent: {total_ms:.0f} ms; guest uptime when done: {uptime} s")
