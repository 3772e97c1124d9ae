"""The one table of keyboard shortcuts. Menus, actions and the Help dialog are built from it."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Shortcut:
    action: str  # MainWindow binds each id to a handler
    keys: tuple[str, ...]  # QKeySequence strings; the first is shown in menus
    text: str
    group: str


SHORTCUTS: tuple[Shortcut, ...] = (
    Shortcut("open_files", ("Ctrl+O",), "Open files…", "File"),
    Shortcut("open_folder", ("Ctrl+Shift+O",), "Open folder (with sub-folders)…", "File"),
    Shortcut("close_all", ("Ctrl+W",), "Close all images", "File"),
    Shortcut("export_view", ("Ctrl+E",), "Export view as PNG (full image resolution)…", "File"),
    Shortcut("export_report", ("Ctrl+Shift+E",), "Export AI report of opened images (CSV and JSON)…", "File"),
    Shortcut("quit", ("Ctrl+Q",), "Quit", "File"),
    Shortcut("next_image", ("PgDown", "Right", "Down"), "Next image", "Navigate"),
    Shortcut("previous_image", ("PgUp", "Left", "Up"), "Previous image", "Navigate"),
    Shortcut("first_image", ("Home",), "First image", "Navigate"),
    Shortcut("last_image", ("End",), "Last image", "Navigate"),
    Shortcut("next_frame", (".",), "Next frame of a multi-frame image (also Ctrl+wheel)", "Navigate"),
    Shortcut("previous_frame", (",",), "Previous frame of a multi-frame image", "Navigate"),
    Shortcut("preset_1", ("1",), "Window: Default (from the file)", "Window/level"),
    Shortcut("preset_2", ("2",), "Window: Lung", "Window/level"),
    Shortcut("preset_3", ("3",), "Window: Mediastinum", "Window/level"),
    Shortcut("preset_4", ("4",), "Window: Bone", "Window/level"),
    Shortcut("preset_5", ("5",), "Window: Full range", "Window/level"),
    Shortcut("invert", ("I",), "Invert greyscale", "Window/level"),
    Shortcut("zoom_in", ("+",), "Zoom in", "View"),
    Shortcut("zoom_out", ("-",), "Zoom out", "View"),
    Shortcut("fit", ("=",), "Fit image to window", "View"),
    Shortcut("actual_size", ("Ctrl+0",), "Actual size (1:1, one image pixel per screen pixel)", "View"),
    Shortcut("rotate", ("R",), "Rotate 90° clockwise", "View"),
    Shortcut("rotate_ccw", ("Shift+R",), "Rotate 90° anticlockwise", "View"),
    Shortcut("flip_h", ("H",), "Flip horizontally", "View"),
    Shortcut("flip_v", ("V",), "Flip vertically", "View"),
    Shortcut("reset", ("Space",), "Reset view (window, invert, zoom, rotation, flips)", "View"),
    Shortcut("toggle_overlay", ("O",), "Show/hide corner information and orientation letters", "View"),
    Shortcut("toggle_magnifier", ("Z",), "Magnifier (a loupe that follows the cursor)", "View"),
    Shortcut("toggle_smooth", ("S",), "Smooth enlarged pixels (off: nearest neighbour, as blocks)", "View"),
    Shortcut("toggle_cam", ("G",), "Show/hide the AI heat map (Grad-CAM)", "AI"),
    Shortcut("toggle_lungs", ("L",), "Show/hide the lung-field outline", "AI"),
    Shortcut("cancel_batch", (), "Stop analysing the opened images", "AI"),
    Shortcut("load_model", (), "Load AI model…", "Model"),
    Shortcut("model_card", (), "Model card…", "Model"),
    Shortcut("adapt_model", (), "Adapt to this site…", "Model"),
    Shortcut("use_bundled_model", (), "Back to the bundled model", "Model"),
    Shortcut("tool_none", ("Esc",), "No measuring tool: left-drag pans (Esc also drops a half-drawn one)", "Measure"),
    Shortcut("tool_ruler", ("M",), "Ruler (mm from the pixel spacing in the file)", "Measure"),
    Shortcut("tool_angle", ("A",), "Angle", "Measure"),
    Shortcut("tool_ellipse", ("E",), "Ellipse ROI (mean, SD, min, max, area)", "Measure"),
    Shortcut("tool_rectangle", ("B",), "Rectangle ROI (mean, SD, min, max, area)", "Measure"),
    Shortcut("tool_ctr", ("C",), "Cardiothoracic ratio (thoracic, then cardiac width)", "Measure"),
    Shortcut("tool_arrow", ("P",), "Arrow", "Measure"),
    Shortcut("tool_text", ("T",), "Text", "Measure"),
    Shortcut("delete_measurement", ("Delete", "Backspace"), "Delete the selected measurement", "Measure"),
    Shortcut("undo_measurement", ("Ctrl+Z",), "Undo the last measurement change", "Measure"),
    Shortcut("clear_measurements", (), "Delete all measurements on this image", "Measure"),
    Shortcut("help", ("F1",), "Keyboard and mouse help", "Help"),
)

MOUSE_BINDINGS: tuple[tuple[str, str], ...] = (
    ("Left-drag", "Pan"),
    ("Wheel", "Zoom about the cursor"),
    ("Ctrl+wheel", "Next/previous frame of a multi-frame image"),
    ("Right-drag", "Window/level: left-right = width, up-down = centre"),
    ("Double-click", "Fit image to window"),
    ("Left-drag with a measuring tool", "Draw it; drag a measurement's line or label to move it, its handles to reshape it"),
    ("Click a measurement", "Select it (Delete removes it)"),
    ("Drop files or folders", "Open them"),
)
