#!/usr/bin/env bash
# Hygiene, for CI (.ci/run) and by hand: fails on any finding.
#   bandit     the project's own code ([tool.bandit] in pyproject.toml), medium severity and up;
#              a finding judged safe carries `# nosec BXXX  # why` at its line.
#   pip-audit  known vulnerabilities in the pinned requirements.txt (and what they pull in).
# pip-audit asks PyPI's per-release JSON API for each pinned version. Where that API cannot be
# reached (a mirror that serves only the per-project JSON) every dependency comes back "not
# audited"; each pin that is its project's newest release is then audited against the per-project
# JSON, which lists that release's known vulnerabilities, and the others are named as not audited.
# A vulnerability found always fails; pins left unaudited fail only with HYGIENE_STRICT=1 (a
# network without the API cannot be made to pass otherwise), and so does pip-audit auditing only
# some of them.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV="${VENV:-.venv}"
if [ ! -x "$VENV/bin/bandit" ] || [ ! -x "$VENV/bin/pip-audit" ]; then
  make --no-print-directory install
fi

echo "== bandit (medium and high)"
"$VENV/bin/bandit" -c pyproject.toml -r . -ll -q

echo "== pip-audit requirements.txt"
report="$(mktemp)"
trap 'rm -f "$report" "$report.log"' EXIT
status=0
# Its own summary ("No known vulnerabilities found" even when nothing was audited) goes to the log,
# shown only when no report came out; the verdict below is read from the JSON report.
"$VENV/bin/pip-audit" -r requirements.txt --progress-spinner off --desc on -f json -o "$report" \
  >"$report.log" 2>&1 || status=$?
"$VENV/bin/python" - "$report" "$status" "$report.log" <<'EOF'
import json
import os
import sys

path, status, log = sys.argv[1], int(sys.argv[2]), sys.argv[3]
try:
    with open(path, encoding="utf-8") as handle:
        dependencies = json.load(handle)["dependencies"]
except (OSError, ValueError, KeyError) as exc:
    with open(log, encoding="utf-8", errors="replace") as handle:
        print(handle.read()[-4000:])
    sys.exit(f"pip-audit failed (exit {status}) without a report: {exc}")

vulnerable = [d for d in dependencies if d.get("vulns")]
skipped = [d for d in dependencies if "skip_reason" in d]
audited = len(dependencies) - len(skipped)
for dep in vulnerable:
    for vuln in dep["vulns"]:
        fixed = ", ".join(vuln.get("fix_versions") or []) or "no fixed version yet"
        print(f"VULNERABLE {dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixed})")
        if vuln.get("description"):
            print(f"    {vuln['description'].splitlines()[0][:200]}")
if vulnerable:
    sys.exit(f"pip-audit: {len(vulnerable)} pinned package(s) with known vulnerabilities: raise the pins")
if skipped and audited:
    for dep in skipped:
        print(f"NOT AUDITED {dep['name']}: {dep['skip_reason']}")
    sys.exit(f"pip-audit: {len(skipped)} of {len(dependencies)} dependencies could not be audited")
if skipped:
    print(f"WARNING: pip-audit could not reach a vulnerability database: none of the {len(skipped)}")
    print("WARNING: dependencies was audited (e.g. " + skipped[0]["skip_reason"] + ").")
    # Where only PyPI's per-project JSON answers (a mirror without the per-release API): it lists
    # the known vulnerabilities of the project's newest release, so a pin that is that release is
    # audited by it; an older pin is reported, not passed.
    import urllib.request

    import re

    unaudited, found = [], []
    for dep in skipped:
        # A skipped dependency carries no version field; its reason ends with "name (version)".
        pinned = re.search(r"\(([^()]+)\)\s*$", dep["skip_reason"])
        if not pinned:
            unaudited.append(f"{dep['name']}: {dep['skip_reason']}")
            continue
        dep = {**dep, "version": pinned.group(1)}
        try:
            url = f"https://pypi.org/pypi/{dep['name']}/json"
            with urllib.request.urlopen(url, timeout=30) as answer:  # nosec B310  # a fixed https URL
                project = json.load(answer)
        except (OSError, ValueError) as exc:
            unaudited.append(f"{dep['name']} {dep['version']}: PyPI's project JSON did not answer ({exc})")
            continue
        newest = project["info"]["version"]
        if newest != dep["version"]:
            unaudited.append(f"{dep['name']} {dep['version']}: not the newest release ({newest})")
            continue
        for vuln in project.get("vulnerabilities") or []:
            if not vuln.get("withdrawn"):
                found.append(f"{dep['name']} {dep['version']}: {vuln.get('id')} (fixed in {vuln.get('fixed_in')})")
    for line in found:
        print(f"VULNERABLE {line}")
    if found:
        sys.exit(f"PyPI lists {len(found)} known vulnerabilities in the pinned packages: raise the pins")
    audited = len(skipped) - len(unaudited)
    print(f"PyPI's project JSON: no known vulnerability in the {audited} pins that are their project's newest release")
    for line in unaudited:
        print(f"NOT AUDITED {line}")
    if not unaudited:
        sys.exit(0)
    if os.environ.get("HYGIENE_STRICT") == "1":
        sys.exit(f"pip-audit: {len(unaudited)} dependencies not audited and HYGIENE_STRICT=1")
    print("WARNING: not failing for that (set HYGIENE_STRICT=1 to fail): run it where PyPI's JSON API answers.")
    sys.exit(0)
if status != 0:
    sys.exit(f"pip-audit exited with {status}")
print(f"pip-audit: no known vulnerabilities in {audited} dependencies")
EOF
echo "== hygiene: passed"
