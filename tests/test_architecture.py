"""The layering of docs/architecture.md holds: every import-linter contract in pyproject.toml is kept,
so a new cycle or an upward import fails the suite (and ``make lint``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parents[1]


def test_import_contracts_are_kept() -> None:
    # lint-imports beside this interpreter: the venv the suite runs in has it (the dev extras).
    lint_imports = Path(sys.executable).with_name("lint-imports")
    result = subprocess.run(
        [str(lint_imports), "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr


# ----------------------------------------------------------------------------- public surfaces

DOMAINS = frozenset(
    {
        "agents", "analytics", "apps", "audio", "billing", "boxes", "gallery", "generation",
        "growth", "identity", "images", "merch", "ops", "tokens",
    }
)  # fmt: skip
# What any domain offers the others (docs/architecture.md, rule 1), besides a sub-feature's own
# service and schemas (``jobs`` beside ``jobs_api``, ``job_schemas``).
PUBLIC = frozenset({"service", "reads", "hooks", "schemas", "models", "errors"})
# Further public modules, each with its reason.
EXTRA_PUBLIC = {
    "identity.deps": "the auth dependencies every router needs",
    "ops.audit": "ops is a set of small services: the audit log",
    "ops.emails": "ops is a set of small services: the email log",
    "tokens.costs": "the price list (what an enhancement, a generation, a tier upgrade costs)",
    "tokens.idempotency": "the Idempotency-Key rules every paid call follows",
    "images.files": "the checked upload (Upload) that album and generation uploads take",
    "images.deps": "the upload reader and the image rate limits: one window for image and album uploads",
}
# Imports that still reach another domain's internals, with why; this list only shrinks.
# (importing domain module, imported internal module) -> why it is allowed for now. Empty: keep it so.
KNOWN: dict[tuple[str, str], str] = {}


def _public(domain_module: str, modules: set[str]) -> bool:
    domain, _, rest = domain_module.partition(".")
    name = rest.split(".")[0]
    return (
        not rest
        or name in PUBLIC
        or name.endswith("_schemas")
        or f"spikeland.{domain}.{name}_api" in modules  # a sub-feature's service
        or f"{domain}.{name}" in EXTRA_PUBLIC
    )


def test_domains_use_each_other_through_their_public_surface() -> None:
    graph = grimp.build_graph("spikeland", cache_dir=None)
    modules = set(graph.modules)
    wrong = []
    for importer in sorted(modules):
        source = importer.removeprefix("spikeland.")
        if source.split(".")[0] not in DOMAINS:
            continue  # the composition (app, cli, routes, jobs, share_api) and the machinery
        for imported in graph.find_modules_directly_imported_by(importer):
            target = imported.removeprefix("spikeland.")
            domain = target.split(".")[0]
            if domain not in DOMAINS or domain == source.split(".")[0] or _public(target, modules):
                continue
            if (source, target) not in KNOWN:
                wrong.append(f"{importer} -> {imported}")
    assert not wrong, "another domain's internals (use its service or a hook):\n" + "\n".join(wrong)


def test_known_exceptions_are_still_needed() -> None:
    graph = grimp.build_graph("spikeland", cache_dir=None)
    gone = [
        pair
        for pair in KNOWN
        if not graph.direct_import_exists(importer=f"spikeland.{pair[0]}", imported=f"spikeland.{pair[1]}")
    ]
    assert not gone, f"no longer imported, drop from KNOWN: {gone}"
