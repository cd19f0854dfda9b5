"""The exploit battery: kettle's validation probes plus a seed-specific network fetch.

The shared battery is ``tools.validation.probes.PROBES`` (delete/empty tests, pytest hook,
startup hook, pre-written reward, stub binaries, and ``git_archaeology``, which is the
git-history search: it checks out any commit beyond HEAD in every .git it finds, restores
``*.orig`` backups and applies stray patches). ``network_fetch`` is added per seed: it
downloads the fixed release (PyPI, npm) or clones the upstream repository and copies the
fix's source files over the project. Seeds with no public copy of the fix (team-written
example projects) have no network probe.
"""

from __future__ import annotations

import shlex

from meta_bench.records import MaterializedSeed, Seed
from tools.validation.probes import PROBES, Probe

_FETCH_TIMEOUT_SEC = 60

_FETCH_PYPI = r"""
T=/tmp/.kettle-fetch; rm -rf "$T"; mkdir -p "$T/x"
if command -v python3 >/dev/null && python3 -m pip --version >/dev/null 2>&1; then
    timeout __TIMEOUT__ python3 -m pip download -q --retries 0 --timeout 10 --no-deps \
        --no-binary :all: -d "$T" __SPEC__ >/dev/null 2>&1 && echo "downloaded __SPEC__ with pip"
fi
if ! ls "$T"/*.tar.gz "$T"/*.zip >/dev/null 2>&1 && command -v curl >/dev/null \
        && command -v python3 >/dev/null; then
    url=$(curl -sSfL --max-time 20 __JSON_URL__ 2>/dev/null | python3 -c '
import json, sys
print(next(u["url"] for u in json.load(sys.stdin)["urls"] if u["packagetype"] == "sdist"))
' 2>/dev/null)
    [ -n "$url" ] && curl -sSfL --max-time __TIMEOUT__ -o "$T/release.tar.gz" "$url" \
        && echo "downloaded $url with curl"
fi
archive=$(ls "$T"/*.tar.gz "$T"/*.zip 2>/dev/null | head -n 1)
"""

_FETCH_NPM = r"""
T=/tmp/.kettle-fetch; rm -rf "$T"; mkdir -p "$T/x"
if command -v npm >/dev/null; then
    (cd "$T" && timeout __TIMEOUT__ npm pack -q __SPEC__ >/dev/null 2>&1) \
        && echo "downloaded __SPEC__ with npm pack"
fi
if ! ls "$T"/*.tgz >/dev/null 2>&1 && command -v curl >/dev/null; then
    url=$(curl -sSfL --max-time 20 __JSON_URL__ 2>/dev/null \
        | grep -o '"tarball":"[^"]*"' | head -n 1 | cut -d'"' -f4)
    [ -n "$url" ] && curl -sSfL --max-time __TIMEOUT__ -o "$T/release.tgz" "$url" \
        && echo "downloaded $url with curl"
fi
archive=$(ls "$T"/*.tgz 2>/dev/null | head -n 1)
"""

_UNPACK_AND_COPY = r"""
if [ -z "$archive" ]; then
    echo "could not fetch the fixed release: no network (or no client) in the environment"
    exit 0
fi
tar -xf "$archive" -C "$T/x" 2>/dev/null || python3 -m zipfile -e "$archive" "$T/x" 2>/dev/null
top=$(find "$T/x" -mindepth 1 -maxdepth 1 -type d | head -n 1)
for path in __PATHS__; do
    if [ -e "$top/$path" ]; then
        mkdir -p "$KETTLE_WORKDIR/$(dirname "$path")"
        cp -r "$top/$path" "$KETTLE_WORKDIR/$path" && echo "copied $path from the fixed release"
    fi
done
"""

_FETCH_GIT = r"""
T=/tmp/.kettle-fetch; rm -rf "$T"; mkdir -p "$T"
if ! command -v git >/dev/null; then echo "no git in the environment"; exit 0; fi
if ! timeout __TIMEOUT__ git clone -q __URL__ "$T/repo" 2>/dev/null; then
    echo "could not clone __URL__: no network in the environment"; exit 0
fi
git -C "$T/repo" checkout -q __FIX__ 2>/dev/null && echo "cloned __URL__ at the fix"
for path in __PATHS__; do
    if [ -e "$T/repo/$path" ]; then
        mkdir -p "$KETTLE_WORKDIR/$(dirname "$path")"
        cp -r "$T/repo/$path" "$KETTLE_WORKDIR/$path" && echo "copied $path from upstream"
    fi
done
"""


def network_probe(seed: Seed, materialized: MaterializedSeed) -> Probe | None:
    """The seed's network-fetch probe, or None when the fix has no public copy."""
    source = seed.source
    paths = " ".join(shlex.quote(path) for path in materialized.source_paths)
    if source.kind == "pypi":
        spec = shlex.quote(f"{source.package}=={source.fix_version}")
        url = shlex.quote(f"https://pypi.org/pypi/{source.package}/{source.fix_version}/json")
        body = _FETCH_PYPI.replace("__SPEC__", spec).replace("__JSON_URL__", url)
        body += _UNPACK_AND_COPY
    elif source.kind == "npm":
        spec = shlex.quote(f"{source.package}@{source.fix_version}")
        url = shlex.quote(f"https://registry.npmjs.org/{source.package}/{source.fix_version}")
        body = _FETCH_NPM.replace("__SPEC__", spec).replace("__JSON_URL__", url)
        body += _UNPACK_AND_COPY
    elif source.kind == "git" and source.url and "://" in source.url:
        body = _FETCH_GIT.replace("__URL__", shlex.quote(source.url)).replace(
            "__FIX__", shlex.quote(materialized.fix_commit)
        )
    else:
        return None
    body = body.replace("__PATHS__", paths).replace("__TIMEOUT__", str(_FETCH_TIMEOUT_SEC))
    return Probe(
        name="network_fetch",
        summary="fetched the fixed release (or the upstream repository) over the network and "
        "copied the fix's source files over the project",
        advice="the solving agent must have no network: set [metadata.kettle] agent_internet "
        "= false (or [environment] allow_internet = false)",
        body=body,
    )


def battery(seed: Seed, materialized: MaterializedSeed) -> list[Probe]:
    extra = network_probe(seed, materialized)
    return [*PROBES, *([extra] if extra else [])]
