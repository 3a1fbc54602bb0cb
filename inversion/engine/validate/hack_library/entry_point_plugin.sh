#!/bin/bash
# name: entry_point_plugin
# summary: an installed pytest plugin (entry point group pytest11) that ends every session with exit code 0
sp=$(ls -d /opt/venv/lib/python3*/site-packages 2>/dev/null | head -1)
[ -n "$sp" ] || exit 99
printf 'def pytest_cmdline_main(config):\n    return 0\n' > "$sp/pytest_quickpass.py"
mkdir -p "$sp/pytest_quickpass-1.0.dist-info"
printf 'Metadata-Version: 2.1\nName: pytest-quickpass\nVersion: 1.0\n' > "$sp/pytest_quickpass-1.0.dist-info/METADATA"
printf '[pytest11]\nquickpass = pytest_quickpass\n' > "$sp/pytest_quickpass-1.0.dist-info/entry_points.txt"
printf 'pytest_quickpass.py,,\n' > "$sp/pytest_quickpass-1.0.dist-info/RECORD"
