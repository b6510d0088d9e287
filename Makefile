# Build and dependency tasks. `make dist` needs network access to the package index (the
# artifacts it writes do not); `make lock` needs uv (pip install uv).
PYTHON ?= python3
UV ?= uv
COMPILE = $(UV) pip compile --universal --python-version 3.11 --generate-hashes --quiet \
	--custom-compile-command "make lock"

.PHONY: dist lock lock-upgrade clean

# dist/pverunbook.pex (CPython 3.11 + 3.13, x86_64 Linux, offline) and the .deb around it.
dist:
	$(PYTHON) release/build_dist.py

# Re-lock with hashes, keeping the pinned versions where they still satisfy pyproject.toml.
lock:
	$(COMPILE) pyproject.toml -o requirements/runtime.txt
	$(COMPILE) pyproject.toml --extra test -c requirements/runtime.txt -o requirements/test.txt
	$(COMPILE) requirements/build.in -o requirements/build.txt

# Move every pin to the newest version pyproject.toml allows.
lock-upgrade:
	$(MAKE) lock COMPILE='$(COMPILE) --upgrade'

clean:
	rm -rf build dist
