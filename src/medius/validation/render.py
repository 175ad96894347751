"""Render a posed movement to H.264 with three.js in headless Debian chromium (Playwright).

The page (``assets/render.html``) and every file it loads are served to chromium from this
package through Playwright's request routing on a fake origin: no socket, no network, nothing
downloaded. Python computes the poses and the camera; the page skins the CC0 body and draws.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from medius.errors import MediusError
from medius.validation.camera import PinholeCamera
from medius.validation.motion import Movement

__all__ = ["ASSETS", "RendererUnavailable", "Scene", "find_chromium", "renderer", "render_movement"]

ASSETS = Path(__file__).resolve().parent / "assets"
ORIGIN = "http://medius-render.invalid"
CHROMIUM_CANDIDATES = ("/usr/lib/chromium/chromium", "/usr/bin/chromium", "/usr/bin/chromium-browser")


class RendererUnavailable(MediusError):
    """No chromium (or no Playwright) to render with."""

    exit_code = 8


def find_chromium() -> str:
    """The chromium executable: ``$CHROMIUM_PATH`` or Debian's; raises :class:`RendererUnavailable`."""
    env = os.environ.get("CHROMIUM_PATH")
    if env:  # an explicit choice is used or refused, never silently replaced
        if Path(env).is_file() and os.access(env, os.X_OK):
            return env
        raise RendererUnavailable(f"CHROMIUM_PATH={env} is not an executable chromium")
    for c in CHROMIUM_CANDIDATES:
        if Path(c).is_file() and os.access(c, os.X_OK):
            return c
    found = shutil.which("chromium")
    if found:
        return found
    raise RendererUnavailable(
        "no chromium to render with: install Debian's chromium (apt-get install chromium) or set CHROMIUM_PATH"
    )


@dataclass(frozen=True)
class Scene:
    """Everything about the picture that is not the person's movement."""

    body: str  # file name in assets/bodies
    camera: PinholeCamera
    background: tuple[int, int, int] = (200, 205, 210)
    floor: tuple[int, int, int] = (150, 140, 125)
    wall: tuple[int, int, int] | None = (215, 212, 205)
    light_ambient: float = 1.6
    light_key: float = 2.2
    key_dir: tuple[float, float, float] = (1.5, 4.0, -3.0)
    shorts: tuple[int, int, int] | None = None
    shadows: bool = False
    antialias: bool = False
    cheap_materials: bool = True

    def options(self, props: list[dict[str, Any]], markers: list[dict[str, Any]] | None = None,
                hide_body: bool = False) -> dict[str, Any]:
        cam = self.camera
        wall_z = -4.0 if cam.position[2] > 0 else 4.0  # the back wall, behind the person as seen from the camera
        return {
            "width": cam.width,
            "height": cam.height,
            "body_url": f"{ORIGIN}/bodies/{self.body}",
            "background": list(self.background),
            "floor": list(self.floor),
            "wall": list(self.wall) if self.wall else None,
            "wall_z": wall_z,
            "light": {"ambient": self.light_ambient, "key": self.light_key, "key_dir": list(self.key_dir)},
            "materials": {"shorts": list(self.shorts)} if self.shorts else {},
            "shadows": self.shadows,
            "antialias": self.antialias,
            "cheap_materials": self.cheap_materials,
            "camera": {"fov_deg": cam.fov_y_deg, "position": [float(v) for v in cam.position],
                       "quaternion": cam.quaternion_xyzw, "near": 0.05, "far": 50.0},
            "props": props,
            "markers": markers or [],
            "hide_body": hide_body,
        }


def _serve(route: Any) -> None:
    url = route.request.url
    rel = url[len(ORIGIN) + 1 :].split("?", 1)[0]
    path = (ASSETS / rel).resolve()
    if ASSETS not in path.parents or not path.is_file():
        route.fulfill(status=404, body="not found")
        return
    ctype = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
    if path.suffix == ".js":
        ctype = "text/javascript"
    elif path.suffix == ".glb":
        ctype = "model/gltf-binary"
    route.fulfill(status=200, body=path.read_bytes(), headers={"Content-Type": ctype})


class _Page:
    def __init__(self, page: Any) -> None:
        self.page = page

    def setup(self, options: dict[str, Any]) -> list[str]:
        self.page.set_viewport_size({"width": options["width"], "height": options["height"]})
        self.page.goto(f"{ORIGIN}/render.html")
        self.page.wait_for_function("window.mediusReady === true", timeout=30_000)
        return list(self.page.evaluate("opts => window.medius.setup(opts)", options))

    def render(self, frames: list[dict[str, Any]], quality: float) -> list[np.ndarray]:
        urls = self.page.evaluate("([f, q]) => window.medius.render(f, q)", [frames, quality])
        out = []
        for u in urls:
            data = base64.b64decode(u.split(",", 1)[1])
            img = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
            out.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
        return out

    def bone_world(self, frame: dict[str, Any], names: list[str]) -> dict[str, list[float]]:
        return dict(self.page.evaluate("([f, n]) => window.medius.boneWorld(f, n)", [frame, names]))


@contextmanager
def renderer() -> Iterator[Callable[[], _Page]]:
    """A headless chromium; yields a factory of fresh renderer pages."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a dev/validate dependency
        raise RendererUnavailable("rendering needs the 'playwright' Python package (make install)") from exc
    exe = find_chromium()
    with sync_playwright() as pw:
        try:
            browser = pw.chromium.launch(
                executable_path=exe, headless=True,
                args=["--use-angle=swiftshader", "--enable-unsafe-swiftshader", "--ignore-gpu-blocklist",
                      "--disable-background-networking", "--disable-component-update"],
            )
        except PlaywrightError as exc:
            raise RendererUnavailable(f"chromium at {exe} did not start: {str(exc).splitlines()[0]}") from exc
        pages: list[Any] = []

        def new_page() -> _Page:
            ctx = browser.new_context(device_scale_factor=1)
            page = ctx.new_page()
            page.route(f"{ORIGIN}/**", _serve)
            pages.append(ctx)
            return _Page(page)

        try:
            yield new_page
        finally:
            for c in pages:
                c.close()
            browser.close()


def frame_payload(movement: Movement, i: int) -> dict[str, Any]:
    return {"root": [float(v) for v in movement.root[i]], "bones": movement.bone_quaternions(i)}


def render_movement(
    movement: Movement,
    scene: Scene,
    out_path: Path,
    *,
    new_page: Callable[[], _Page],
    batch: int = 8,
    quality: float = 0.92,
    crf: int = 18,
    progress: Callable[[int, int], None] | None = None,
) -> None:
    """Render every frame of ``movement`` and write an H.264 MP4 at its frame rate."""
    from medius.io.video import VideoWriter

    page = new_page()
    page.setup(scene.options(movement.props))
    cam = scene.camera
    tmp = out_path.with_name(f".{out_path.name}.partial.mp4")
    try:
        with VideoWriter(tmp, cam.width, cam.height, fps_hint=movement.fps, crf=crf, preset="veryfast") as w:
            for a in range(0, movement.n_frames, batch):
                idx = list(range(a, min(a + batch, movement.n_frames)))
                imgs = page.render([frame_payload(movement, i) for i in idx], quality)
                for i, img in zip(idx, imgs, strict=True):
                    w.write(img, float(movement.time_s[i]))
                if progress:
                    progress(idx[-1] + 1, movement.n_frames)
        tmp.replace(out_path)
    finally:
        tmp.unlink(missing_ok=True)
        page.page.context.close()
