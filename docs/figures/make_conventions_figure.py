"""Draw the conventions figure: a frontal-view stick figure in single-leg stance with the four
kinetic-chain angles and their positive directions.

Run from the repository root (``python docs/figures/make_conventions_figure.py``); writes
``docs/figures/conventions.svg`` and ``docs/figures/conventions.png``. The angle values written
on the figure are computed from the drawn points with :mod:`medius.kinematics`, so the figure
cannot disagree with the code.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from medius.kinematics import (  # noqa: E402
    compute_fppa,
    compute_hip_adduction,
    compute_pelvic_tilt,
    compute_trunk_lean,
)

HERE = Path(__file__).resolve().parent

# colours (colour-blind-safe Okabe-Ito)
C_FPPA = "#D55E00"
C_PELVIS = "#0072B2"
C_TRUNK = "#009E73"
C_HIP = "#CC79A7"
C_BODY = "#333333"
C_REF = "#888888"


def unit(deg: float) -> np.ndarray:
    """Direction at ``deg`` from the downward image vertical, positive towards image +x."""
    a = np.radians(deg)
    return np.array([np.sin(a), np.cos(a)])


def build_pose() -> dict[str, np.ndarray]:
    """Person facing the camera, standing on the RIGHT leg (image left), left leg lifted.

    Image frame: x right, y down, px. Facing the camera, the person's right is the image left,
    so for the stance (right) leg the midline lies towards image +x.
    """
    p: dict[str, np.ndarray] = {}
    p["right_hip"] = np.array([450.0, 420.0])
    drop = np.radians(12.0)  # free (left) hip lower: pelvic drop
    p["left_hip"] = p["right_hip"] + 100.0 * np.array([np.cos(drop), np.sin(drop)])
    p["right_knee"] = p["right_hip"] + 210.0 * unit(14.0)  # thigh towards the midline
    p["right_ankle"] = p["right_knee"] + 220.0 * unit(-10.0)  # shank back out: valgus
    p["right_toe"] = p["right_ankle"] + np.array([10.0, 30.0])
    p["left_knee"] = p["left_hip"] + np.array([22.0, 150.0])  # free leg lifted, knee bent
    p["left_ankle"] = p["left_knee"] + np.array([-4.0, 70.0])  # shank held back: foreshortened
    p["left_toe"] = p["left_ankle"] + np.array([6.0, 18.0])
    mid_hip = 0.5 * (p["right_hip"] + p["left_hip"])
    lean = np.radians(14.0)  # trunk leans over the stance (right) leg: towards image -x
    mid_sh = mid_hip + 250.0 * np.array([-np.sin(lean), -np.cos(lean)])
    across = np.array([np.cos(lean), -np.sin(lean)])
    p["right_shoulder"] = mid_sh - 85.0 * across
    p["left_shoulder"] = mid_sh + 85.0 * across
    p["neck"] = mid_sh
    p["head"] = mid_sh + 72.0 * np.array([-np.sin(lean), -np.cos(lean)])
    p["head_base"] = mid_sh + 40.0 * np.array([-np.sin(lean), -np.cos(lean)])
    p["right_elbow"] = p["right_shoulder"] + np.array([-45.0, 95.0])
    p["right_wrist"] = p["right_elbow"] + np.array([-10.0, 85.0])
    p["left_elbow"] = p["left_shoulder"] + np.array([50.0, 95.0])
    p["left_wrist"] = p["left_elbow"] + np.array([15.0, 85.0])
    p["mid_hip"] = mid_hip
    p["mid_shoulder"] = mid_sh
    return p


def angle_of(v: np.ndarray) -> float:
    """Angle of a vector in data coordinates, degrees."""
    return float(np.degrees(np.arctan2(v[1], v[0])))


def draw_arc(ax, centre, v_from, v_to, radius, colour, *, lw=2.6):
    """Arc from direction ``v_from`` to ``v_to`` (shorter way), with an arrowhead at ``v_to``."""
    a0, a1 = angle_of(v_from), angle_of(v_to)
    sweep = (a1 - a0 + 180.0) % 360.0 - 180.0
    th = np.radians(a0 + np.linspace(0.0, sweep, 60))
    xs = centre[0] + radius * np.cos(th)
    ys = centre[1] + radius * np.sin(th)
    ax.plot(xs[:-4], ys[:-4], color=colour, lw=lw, solid_capstyle="round", zorder=4)
    ax.annotate(
        "",
        xy=(xs[-1], ys[-1]),
        xytext=(xs[-6], ys[-6]),
        arrowprops={"arrowstyle": "-|>", "color": colour, "lw": lw, "mutation_scale": 14},
        zorder=5,
    )


def ray(ax, start, direction, length, colour, *, ls="--", lw=1.3):
    d = np.asarray(direction, dtype=float)
    d = d / np.linalg.norm(d)
    end = np.asarray(start) + length * d
    ax.plot([start[0], end[0]], [start[1], end[1]], color=colour, ls=ls, lw=lw, zorder=2)


def main() -> None:
    plt.rcParams["svg.hashsalt"] = "medius-conventions"
    plt.rcParams["font.size"] = 10
    p = build_pose()
    rh, lh = p["right_hip"], p["left_hip"]
    one = {k: v[None] for k, v in p.items()}
    fppa = compute_fppa(one["right_hip"], one["right_knee"], one["right_ankle"], one["left_hip"])[0]
    tilt = compute_pelvic_tilt(one["right_hip"], one["left_hip"])[0]
    lean = compute_trunk_lean(one["right_hip"], one["left_hip"], one["right_shoulder"], one["left_shoulder"])[
        0
    ]
    hadd = compute_hip_adduction(one["right_hip"], one["right_knee"], one["left_hip"])[0]

    fig, ax = plt.subplots(figsize=(8.6, 8.4))
    ax.set_aspect("equal")
    ax.set_xlim(150, 960)
    ax.set_ylim(960, 60)  # image y points down
    ax.set_xticks([])
    ax.set_yticks([])
    for s in ax.spines.values():
        s.set_color("#BBBBBB")

    # ---- the body
    def seg(a, b, lw=4.0, colour=C_BODY):
        ax.plot([p[a][0], p[b][0]], [p[a][1], p[b][1]], color=colour, lw=lw, solid_capstyle="round", zorder=3)

    for a, b in [
        ("right_hip", "left_hip"),
        ("right_shoulder", "left_shoulder"),
        ("mid_hip", "mid_shoulder"),
        ("right_shoulder", "right_elbow"),
        ("right_elbow", "right_wrist"),
        ("left_shoulder", "left_elbow"),
        ("left_elbow", "left_wrist"),
        ("right_hip", "right_knee"),
        ("right_knee", "right_ankle"),
        ("right_ankle", "right_toe"),
        ("left_hip", "left_knee"),
        ("left_knee", "left_ankle"),
        ("left_ankle", "left_toe"),
        ("mid_shoulder", "head_base"),
    ]:
        seg(a, b)
    ax.add_patch(plt.Circle(p["head"], 32, color=C_BODY, fill=False, lw=3, zorder=3))
    for name in (
        "right_hip",
        "left_hip",
        "right_knee",
        "left_knee",
        "right_ankle",
        "left_ankle",
        "right_shoulder",
        "left_shoulder",
        "mid_hip",
        "mid_shoulder",
    ):
        ax.plot(*p[name], "o", color="white", mec=C_BODY, ms=6, mew=1.6, zorder=6)
    ax.plot([300, 640], [p["right_toe"][1] + 4] * 2, color="#999999", lw=2, zorder=1)  # floor

    # ---- FPPA at the stance knee: extended thigh direction -> shank direction
    knee = p["right_knee"]
    thigh = knee - rh
    shank = p["right_ankle"] - knee
    ray(ax, knee, thigh, 170, C_FPPA)
    ray(ax, rh, p["right_ankle"] - rh, np.linalg.norm(p["right_ankle"] - rh), C_REF, ls=":", lw=1.0)
    draw_arc(ax, knee, thigh, shank, 125, C_FPPA)
    ax.text(
        knee[0] + 70,
        knee[1] + 120,
        f"FPPA = {fppa:+.0f}°\n+ knee medial of the\n  hip–ankle line (valgus)",
        color=C_FPPA,
        va="top",
        ha="left",
    )

    # ---- pelvic tilt at the stance hip: horizontal (towards the free hip) -> pelvis line
    ray(ax, rh, [1.0, 0.0], 175, C_PELVIS)
    ray(ax, lh, lh - rh, 80, C_PELVIS, ls="-", lw=1.3)  # pelvis line, extended past the free hip
    draw_arc(ax, rh, np.array([1.0, 0.0]), lh - rh, 160, C_PELVIS)
    ax.text(
        rh[0] + 185,
        rh[1] + 55,
        f"pelvic tilt = {tilt:+.0f}°\n+ free hip lower\n(pelvic drop = tilt − standing tilt)",
        color=C_PELVIS,
        va="top",
        ha="left",
    )

    # ---- trunk lean at the mid-hip: image vertical (up) -> mid-hip to mid-shoulder line
    mh, ms = p["mid_hip"], p["mid_shoulder"]
    ray(ax, mh, [0.0, -1.0], 290, C_TRUNK)
    draw_arc(ax, mh, np.array([0.0, -1.0]), ms - mh, 215, C_TRUNK)
    ax.text(
        mh[0] + 30,
        mh[1] - 300,
        f"trunk lean = {lean:+.0f}°\n+ shoulders towards\n  the stance side",
        color=C_TRUNK,
        va="bottom",
        ha="left",
    )

    # ---- hip adduction at the stance hip: pelvis perpendicular (down) -> thigh
    pelvis = lh - rh
    perp = np.array([-pelvis[1], pelvis[0]])
    perp = perp if perp[1] > 0 else -perp
    ray(ax, rh, perp, 200, C_HIP)
    draw_arc(ax, rh, perp, thigh, 165, C_HIP)
    ax.text(
        rh[0] - 45,
        rh[1] + 150,
        f"hip adduction = {hadd:+.0f}°\n+ knee towards\n  the midline",
        color=C_HIP,
        va="top",
        ha="right",
    )

    # ---- labels and image frame
    ax.text(rh[0] - 40, rh[1] - 18, "right hip\n(stance)", ha="right", va="bottom", fontsize=9)
    ax.text(lh[0] + 25, lh[1] - 40, "left hip\n(free)", ha="left", va="bottom", fontsize=9)
    ax.annotate(
        "", xy=(265, 100), xytext=(170, 100), arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.5}
    )
    ax.annotate(
        "", xy=(170, 195), xytext=(170, 100), arrowprops={"arrowstyle": "-|>", "color": "black", "lw": 1.5}
    )
    ax.text(272, 100, "x (px)", va="center", fontsize=9)
    ax.text(178, 205, "y (px)", va="top", fontsize=9)
    ax.set_title(
        "medius 2D conventions: front view, person facing the camera,\n"
        "single-leg stance on the RIGHT leg (image left); every angle drawn is positive",
        fontsize=11,
    )
    ax.text(
        955,
        950,
        "image frame of the displayed (upright) video: origin top-left, x right, y down\n"
        "dashed = reference line; dotted = hip–ankle line; arrow = positive direction",
        ha="right",
        va="bottom",
        fontsize=8,
        color="#555555",
    )
    fig.tight_layout()
    fig.savefig(HERE / "conventions.svg", metadata={"Date": None})
    fig.savefig(HERE / "conventions.png", dpi=110, metadata={"Software": None})
    plt.close(fig)
    print(
        f"FPPA {fppa:+.2f} deg, pelvic tilt {tilt:+.2f} deg, trunk lean {lean:+.2f} deg, "
        f"hip adduction {hadd:+.2f} deg -> {HERE / 'conventions.svg'}"
    )


if __name__ == "__main__":
    main()
