#!/usr/bin/python3
"""Counts passed/failed/skipped tests in ctest's JUnit output and says why each
skipped test was skipped (the GTEST_SKIP() message). Last line is the plain
'N passed, N failed, N skipped' line CI reads."""
import collections
import sys
import xml.etree.ElementTree as ET


def skip_reason(case):
    out = case.findtext("system-out") or ""
    lines = out.splitlines()
    for i, line in enumerate(lines):
        if line.rstrip().endswith("Skipped") and i + 1 < len(lines):
            return lines[i + 1].strip() or "(no reason given)"
    return "(no reason given)"


def main(path):
    root = ET.parse(path).getroot()
    passed = failed = skipped = 0
    reasons = collections.Counter()
    for case in root.iter("testcase"):
        status = case.get("status", "")
        if case.find("skipped") is not None or status == "skipped":
            skipped += 1
            reasons[skip_reason(case)] += 1
        elif case.find("failure") is not None or case.find("error") is not None or status == "fail":
            failed += 1
            print(f"FAILED: {case.get('name')}")
        else:
            passed += 1
    for reason, n in reasons.most_common():
        print(f"skipped {n}: {reason}")
    print(f"tests: {passed} passed, {failed} failed, {skipped} skipped")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
