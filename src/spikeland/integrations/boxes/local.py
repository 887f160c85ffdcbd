"""The local box provider: a real headless Chromium per box, its profile the box's storage.

``<root>/<boxId>/profile`` is the browser's ``--user-data-dir`` (cookies, storage, cache survive a
stop); the browser listens for DevTools on loopback only, on a port the kernel picks, which
Chromium writes to ``profile/DevToolsActivePort``. ``browser.pid`` names the browser, so any process
on this machine (the API, any worker) can find, check and stop it. Each browser leads its own
process group (its renderers and helpers are in it), so stopping it kills them all.

Tier limits, applied by a small launcher that sets them and then execs Chromium (so nothing runs
in a forked copy of this process, which has threads):
- memory: ``RLIMIT_DATA`` = the tier's RAM, per process (each of Chromium's processes may use up
  to it; the kernel refuses more). Not a limit on the group's total: that needs a cgroup (root);
- CPU: the browser and its children are pinned to the tier's number of CPUs (of those this
  process may use) and run at ``nice`` 10, so a busy box cannot starve the server;
- storage: ``RLIMIT_FSIZE`` = the tier's storage, per file. The profile's total size is not capped
  (that needs a quota or a volume per box, i.e. root or a remote provider).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

from spikeland.integrations.boxes import BoxLimits, BoxProviderError, BrowserMissing
from spikeland.integrations.boxes.browser import close_browser

DEFAULT_CHROMIUM = "/usr/bin/chromium"
STOP_GRACE_SECONDS = 5.0  # for a clean shutdown (cookies written to the profile), then SIGKILL
_NOT_COPIED = shutil.ignore_patterns("Singleton*", "DevToolsActivePort", "*.lock", "lockfile")

# argv: ram bytes, file-size bytes, cpu count, then the browser's argv.
_LAUNCHER = """
import os, resource, sys
ram, fsize, cpus = (int(v) for v in sys.argv[1:4])
resource.setrlimit(resource.RLIMIT_DATA, (ram, ram))
resource.setrlimit(resource.RLIMIT_FSIZE, (fsize, fsize))
allowed = sorted(os.sched_getaffinity(0))
os.sched_setaffinity(0, allowed[: max(1, min(cpus, len(allowed)))])
os.nice(10)
os.execv(sys.argv[4], sys.argv[4:])
"""


class LocalBoxProvider:
    def __init__(self, root: Path, chromium: str | None, start_timeout: float) -> None:
        self.root = root.absolute()  # the browser's command line names it: one spelling everywhere
        self.chromium = chromium or DEFAULT_CHROMIUM
        self.start_timeout = start_timeout

    def profile(self, box_id: str) -> Path:
        return self.root / box_id / "profile"

    def _pid_file(self, box_id: str) -> Path:
        return self.root / box_id / "browser.pid"

    async def create(self, box_id: str, limits: BoxLimits) -> None:
        self.profile(box_id).mkdir(parents=True, exist_ok=True)

    async def start(self, box_id: str, limits: BoxLimits) -> str:
        profile = self.profile(box_id)
        profile.mkdir(parents=True, exist_ok=True)
        if self._running_pid(box_id) is not None:
            port = _port(profile)
            if port is not None:
                return f"http://127.0.0.1:{port}"
            await self.stop(box_id)  # running but not answering: start afresh
        (profile / "DevToolsActivePort").unlink(missing_ok=True)
        return await asyncio.to_thread(self._launch, box_id, limits)

    def _launch(self, box_id: str, limits: BoxLimits) -> str:
        if not (os.path.isfile(self.chromium) and os.access(self.chromium, os.X_OK)):
            raise BrowserMissing(
                f"Chromium is not installed at {self.chromium}: install Debian's `chromium` package "
                "(apt-get install chromium) or set SPIKELAND_CHROMIUM to a Chromium binary."
            )
        profile = self.profile(box_id)
        browser = [
            self.chromium,
            "--headless=new",
            "--no-sandbox",  # the box runs as this service's user, often in a container without userns
            f"--user-data-dir={profile}",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-gpu",
            "about:blank",
        ]
        ram, fsize = limits.ram_mb * 1024 * 1024, limits.storage_gb * 1024**3
        argv = [sys.executable, "-I", "-S", "-c", _LAUNCHER, str(ram), str(fsize), str(limits.cpu), *browser]
        with (self.root / box_id / "browser.log").open("ab") as log:
            process = subprocess.Popen(
                argv, stdin=subprocess.DEVNULL, stdout=log, stderr=log, start_new_session=True
            )
        self._pid_file(box_id).write_text(str(process.pid))
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            port = _port(profile)
            if port is not None:
                return f"http://127.0.0.1:{port}"
            if process.poll() is not None:
                raise BoxProviderError(
                    f"Chromium exited at start (status {process.returncode}); see browser.log."
                )
            time.sleep(0.05)
        _kill_group(process.pid)
        raise BoxProviderError(f"Chromium did not open its DevTools port within {self.start_timeout:g} s.")

    async def stop(self, box_id: str) -> None:
        pid = self._running_pid(box_id)
        if pid is not None:
            port = _port(self.profile(box_id))
            if port is not None:
                with contextlib.suppress(Exception):  # a browser that does not answer is killed below
                    await asyncio.wait_for(close_browser(f"http://127.0.0.1:{port}", 5.0), 10.0)
                    # It writes the profile as it goes: a signal now would cut that short.
                    await asyncio.to_thread(_wait_gone, pid)
            await asyncio.to_thread(_stop_group, pid)
        self._pid_file(box_id).unlink(missing_ok=True)
        (self.profile(box_id) / "DevToolsActivePort").unlink(missing_ok=True)

    async def delete(self, box_id: str) -> None:
        await self.stop(box_id)
        await asyncio.to_thread(shutil.rmtree, self.root / box_id, True)

    async def clone(self, source_id: str, box_id: str) -> None:
        source, target = self.profile(source_id), self.profile(box_id)
        if not source.is_dir():
            raise BoxProviderError("The source box has no profile to copy.")
        if self._running_pid(box_id) is not None:
            raise BoxProviderError("The new box is running; it cannot take a copied profile now.")
        await asyncio.to_thread(shutil.rmtree, target, True)
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            await asyncio.to_thread(shutil.copytree, source, target, ignore=_NOT_COPIED)
        except (shutil.Error, OSError) as exc:  # a running source's file vanished mid-copy: retried
            raise BoxProviderError(f"The profile could not be copied: {exc}") from exc

    async def is_running(self, box_id: str) -> bool:
        return self._running_pid(box_id) is not None

    async def box_ids(self) -> list[str]:
        return await asyncio.to_thread(lambda: sorted(p.name for p in self.root.glob("*") if p.is_dir()))

    def _running_pid(self, box_id: str) -> int | None:
        """The box's browser pid when that process is alive and is this box's browser (a pid file
        left by a crash may name a recycled pid)."""
        try:
            pid = int(self._pid_file(box_id).read_text())
        except (FileNotFoundError, ValueError):
            return None
        marker = f"--user-data-dir={self.profile(box_id)}".encode()
        if _alive(pid) and marker in _cmdline(pid):
            return pid
        return None


def _port(profile: Path) -> int | None:
    try:
        first = (profile / "DevToolsActivePort").read_text().split("\n", 1)[0].strip()
    except FileNotFoundError:
        return None
    return int(first) if first.isdigit() else None


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _alive(pid: int) -> bool:
    """Running (a zombie is not: it has exited and awaits its parent)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def group_members(pgid: int) -> list[int]:
    """Live processes of the process group."""
    members = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, IndexError):
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] != "Z" and int(fields[2]) == pgid:
                members.append(int(entry.name))
    return members


def _reap(pid: int) -> None:
    """Collect the exit status when the browser is this process's child (no zombie left)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def _wait_gone(pgid: int) -> bool:
    """Wait up to the grace period for the group's processes to exit; whether they did."""
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    while True:
        _reap(pgid)
        if not group_members(pgid):
            return True
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)


def _stop_group(pgid: int) -> None:
    """SIGTERM (Chromium shuts down), then SIGKILL for whatever is left after the grace period."""
    if group_members(pgid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        if _wait_gone(pgid):
            return
    _kill_group(pgid)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)
    _wait_gone(pgid)
