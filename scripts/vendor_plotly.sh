#!/usr/bin/env bash
# Vendor plotly.js into static/vendor/plotly.min.js (maintainers only; the file is committed).
#
# The charts draw scatter lines and bars only, so this is plotly.js's "basic" partial bundle
# (scatter, bar, pie: 1.2 MB against 4.7 MB for the full one, which also carries the map traces
# and their tile and icon servers). Its version is the one the plotly Python package pins
# (reports/charts.py reads that package's templates). Government intranets have no internet, so
# the two addresses the bundle still names as defaults are made local:
#   topojsonURL      (geo traces only, not in this bundle)  -> the site's own static/vendor/topojson/
#   plotlyServerURL  (the "edit in Chart Studio" link)      -> "" (no such link is ever shown)
# tests/reports/test_vendor.py checks the result names no remote address it could load.
set -euo pipefail
cd "$(dirname "$0")/.."

version="$(.venv/bin/python -c 'import plotly.offline, re; print(re.search(r"v(\d+\.\d+\.\d+)", plotly.offline.get_plotlyjs()[:200]).group(1))')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "plotly.js-basic-dist-min@$version" >/dev/null && tar xzf ./*.tgz)
sed -e 's#topojsonURL:{valType:"string",noBlank:!0,dflt:"https://cdn.plot.ly/un/"}#topojsonURL:{valType:"string",noBlank:!0,dflt:"/static/vendor/topojson/"}#' \
    -e 's#plotlyServerURL:{valType:"string",dflt:"https://cloud.plotly.com/newchart"}#plotlyServerURL:{valType:"string",dflt:""}#' \
    "$work/package/plotly-basic.min.js" >static/vendor/plotly.min.js
cp "$work/package/LICENSE" static/vendor/plotly.LICENSE
echo "static/vendor/plotly.min.js: plotly.js-basic-dist-min $version, $(wc -c <static/vendor/plotly.min.js) bytes"
echo "static/vendor/plotly.css: $(.venv/bin/python scripts/plotly_css.py 2>&1)"
