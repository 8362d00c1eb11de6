"""The load generator: a generated wrk Lua script, one wrk run, and the parsing of its output."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import msgspec

__all__ = (
    "WrkResult",
    "WrkRun",
    "parse_wrk_output",
    "run_wrk",
    "write_get_script",
    "write_mix_script",
    "write_script",
)

_RESULT_TAG = "BENCH-RESULT "
_UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0}
_PERCENTILE_LINE = re.compile(r"^\s+(\d+)%\s+([\d.]+)(us|ms|s)\s*$", re.MULTILINE)
_RPS_LINE = re.compile(r"^Requests/sec:\s+([\d.]+)", re.MULTILINE)

# Each wrk thread has its own Lua state: setup() numbers the threads so ids stay unique across them, and done()
# (run in the main state) gathers each thread's status counts through thread:get(). A script is the setup, a
# POST or GET part (init and request), and the result part (response and done).
_SETUP = """\
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end
"""
_POST = """\
local parts = {%(parts)s}

-- args[1] names the wrk run, so the warm-up and the measured run never repeat an id.
function init(args)
  prefix = %(nonce)s .. "-" .. args[1] .. "-" .. tid .. "-"
  counter = 0
  statuses = {}
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = %(auth)s
end

function request()
  counter = counter + 1
  return wrk.format(nil, nil, nil, table.concat(parts, prefix .. counter))
end
"""
_MIX = """\
local bodies = {%(bodies)s}
local pattern = {%(pattern)s}

-- Request n sends the body pattern[n mod #pattern]: the mix's shares, interleaved.
function init(args)
  prefix = %(nonce)s .. "-" .. args[1] .. "-" .. tid .. "-"
  counter = 0
  statuses = {}
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = %(auth)s
end

-- Each request goes to its own recipient, as a campaign's messages do: a batch request names a recipient once
-- (docs/ARCHITECTURE.md, "Batches"), so one number or address for all would send every message alone.
function request()
  counter = counter + 1
  local parts = bodies[pattern[counter %% #pattern + 1]]
  local body = table.concat(parts, prefix .. counter)
  body = body:gsub("010%%-1234%%-5678", string.format("010%%08d", (tid * 10000000 + counter) %% 100000000))
  body = body:gsub("supporter@example%%.com", "supporter-" .. tid .. "-" .. counter .. "@example.com")
  return wrk.format(nil, nil, nil, body)
end
"""
_DELAY = """
function delay()
  return %(delay_ms)s
end
"""
_GET = """\
local path = %(path)s
local unique = %(unique)s

-- With unique, every request's path ends in its own id (args[1] names the wrk run, as for POST).
function init(args)
  prefix = %(nonce)s .. "-" .. args[1] .. "-" .. tid .. "-"
  counter = 0
  statuses = {}
  wrk.headers["Authorization"] = %(auth)s
end

function request()
  counter = counter + 1
  return wrk.format("GET", unique and (path .. prefix .. counter) or path)
end
"""
_RESULT = """\
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, thread in ipairs(threads) do
    for status, n in pairs(thread:get("statuses")) do
      counts[status] = (counts[status] or 0) + n
    end
  end
  local merged = {}
  for status, n in pairs(counts) do
    merged[#merged + 1] = string.format('"%%d": %%d', status, n)
  end
  local e = summary.errors
  io.write(string.format(
    '%(tag)s{"requests": %%d, "duration_us": %%d, "p50_us": %%d, "p90_us": %%d, "p99_us": %%d, "max_us": %%d, '
      .. '"errors": {"connect": %%d, "read": %%d, "write": %%d, "status": %%d, "timeout": %%d}, '
      .. '"statuses": {%%s}}\\n',
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, e.connect, e.read, e.write, e.status, e.timeout,
    table.concat(merged, ", ")))
end
"""


class WrkResult(msgspec.Struct, frozen=True):
    """One wrk run, as its ``done()`` hook and ``--latency`` report tell it.

    Attributes:
        requests: Completed requests (any status).
        duration_s: Wall time of the run.
        rps: wrk's ``Requests/sec``.
        p50_ms: Median latency.
        p90_ms: 90th percentile latency.
        p99_ms: 99th percentile latency, exact from the histogram.
        max_ms: Slowest request.
        statuses: Completed requests per HTTP status.
        errors: Socket errors and timeouts per kind, and wrk's count of status ≥ 400.
        distribution_ms: The ``--latency`` table (``"50"``, ``"75"``, ``"90"``, ``"99"`` → ms), rounded by wrk.
    """

    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[int, int]
    errors: dict[str, int]
    distribution_ms: dict[str, float]

    @property
    def accepted(self) -> int:
        """Completed requests answered ``202`` (a new message; ``200`` would be a duplicate)."""
        return self.statuses.get(202, 0)

    @property
    def failures(self) -> dict[str, int]:
        """Every status but ``202`` (``"HTTP 500"``) and every socket error kind with a non-zero count."""
        bad = {f"HTTP {status}": n for status, n in sorted(self.statuses.items()) if status != 202}
        bad.update({kind: n for kind, n in self.errors.items() if n and kind != "status"})
        return bad


class WrkRun(msgspec.Struct, frozen=True):
    """How to run wrk: target, Lua script, the run's name (part of every id) and the load shape."""

    url: str
    script: Path
    name: str
    connections: int
    threads: int
    duration_s: float


def _lua_string(text: str) -> str:
    """A Lua long-bracket literal holding ``text`` verbatim (no escapes are processed inside it)."""
    level = 0
    while f"]{'=' * level}]" in text:
        level += 1
    eq = "=" * level
    return f"[{eq}[{text}]{eq}]"


def write_script(directory: Path, parts: list[str], nonce: str, token: str) -> Path:
    """Write the wrk script that POSTs ``parts`` joined with a unique id per request.

    Args:
        directory: Where to write ``ingest.lua``.
        parts: The body split where the id goes (see ``payload.body_parts``).
        nonce: Makes the ids of this benchmark run unique among earlier runs.
        token: The ingest bearer token.
    """
    script = directory / "ingest.lua"
    values = {
        "parts": ", ".join(_lua_string(part) for part in parts),
        "nonce": _lua_string(nonce),
        "auth": _lua_string(f"Bearer {token}"),
        "tag": _RESULT_TAG,
    }
    script.write_text((_SETUP + _POST + _RESULT) % values, encoding="utf-8")
    return script


def write_mix_script(
    directory: Path,
    bodies: list[list[str]],
    pattern: list[int],
    nonce: str,
    token: str,
    *,
    delay_ms: float = 0.0,
    name: str = "mix",
) -> Path:
    """Write the wrk script that POSTs several bodies in turn, each with a unique id and recipient per request.

    The recipient is the bodies' phone ``010-1234-5678`` or email ``supporter@example.com``, replaced per request.

    Args:
        directory: Where to write ``mix.lua``.
        bodies: Each body split where the id goes (as for :func:`write_script`).
        pattern: Indexes into ``bodies`` (0-based), cycled through request by request: ``[0, 0, 1]`` sends two of
            the first body for each of the second.
        nonce: Makes the ids of this benchmark run unique among earlier runs.
        token: The ingest bearer token.
        delay_ms: Milliseconds each connection waits after an answer before its next request (wrk's ``delay``
            hook): with ``c`` connections, ``c * 1000 / rate`` offers about ``rate`` requests a second, as a Braze
            send at that rate does; 0 sends as fast as the server answers.
        name: The script's file name (``<name>.lua``).
    """
    script = directory / f"{name}.lua"
    values = {
        "bodies": ", ".join("{" + ", ".join(_lua_string(part) for part in parts) + "}" for parts in bodies),
        "pattern": ", ".join(str(index + 1) for index in pattern),
        "nonce": _lua_string(nonce),
        "auth": _lua_string(f"Bearer {token}"),
        "tag": _RESULT_TAG,
    }
    pacing = _DELAY % {"delay_ms": f"{delay_ms:.3f}"} if delay_ms > 0 else ""
    script.write_text((_SETUP + _MIX + _RESULT) % values + pacing, encoding="utf-8")
    return script


def write_get_script(directory: Path, name: str, path: str, token: str, *, unique: bool, nonce: str = "") -> Path:
    """Write a wrk script that GETs ``path`` with a bearer token.

    Args:
        directory: Where to write ``<name>.lua``.
        name: The script's file name.
        path: Path and query of every request.
        token: The bearer token.
        unique: Append a per-request id to ``path`` (``...&n=`` → ``...&n=<nonce>-run-1-7``).
        nonce: Makes the ids of this benchmark run unique among earlier runs.
    """
    script = directory / f"{name}.lua"
    values = {
        "path": _lua_string(path),
        "unique": "true" if unique else "false",
        "nonce": _lua_string(nonce),
        "auth": _lua_string(f"Bearer {token}"),
        "tag": _RESULT_TAG,
    }
    script.write_text((_SETUP + _GET + _RESULT) % values, encoding="utf-8")
    return script


def run_wrk(run: WrkRun) -> WrkResult:
    """Run wrk once and return its parsed result.

    Raises:
        RuntimeError: wrk failed or printed no result line.
    """
    command = [
        "wrk",
        f"--threads={run.threads}",
        f"--connections={run.connections}",
        f"--duration={run.duration_s:g}s",
        # A long timeout keeps slow answers in the latency histogram instead of hiding them as timeouts.
        "--timeout=10s",
        "--latency",
        f"--script={run.script}",
        run.url,
        "--",
        run.name,
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=run.duration_s + 60)
    if done.returncode != 0:
        raise RuntimeError(f"wrk exited with {done.returncode}: {done.stderr.strip() or done.stdout.strip()}")
    return parse_wrk_output(done.stdout)


def parse_wrk_output(output: str) -> WrkResult:
    """Parse wrk's ``--latency`` report and the ``done()`` hook's result line.

    Raises:
        RuntimeError: The result line is missing (the script did not run to its end).
    """
    line = next((ln for ln in output.splitlines() if ln.startswith(_RESULT_TAG)), None)
    if line is None:
        raise RuntimeError(f"wrk printed no {_RESULT_TAG.strip()} line:\n{output}")
    hook = json.loads(line.removeprefix(_RESULT_TAG))
    rps = _RPS_LINE.search(output)
    duration_s = hook["duration_us"] / 1e6
    return WrkResult(
        requests=hook["requests"],
        duration_s=duration_s,
        rps=float(rps.group(1)) if rps else hook["requests"] / duration_s,
        p50_ms=hook["p50_us"] / 1000,
        p90_ms=hook["p90_us"] / 1000,
        p99_ms=hook["p99_us"] / 1000,
        max_ms=hook["max_us"] / 1000,
        statuses={int(status): n for status, n in hook["statuses"].items()},
        errors=hook["errors"],
        distribution_ms={pct: float(value) * _UNITS_MS[unit] for pct, value, unit in _PERCENTILE_LINE.findall(output)},
    )
