"""Words and numbers for the AI second reader, shared by the pane, the list and exports (no Qt)."""

from __future__ import annotations

# Model labels are short machine names; readers expect the clinical spelling.
_TITLES = {"normal": "Normal", "pneumonia": "Pneumonia", "covid": "COVID-19", "covid-19": "COVID-19",
           "covid19": "COVID-19"}

OOD_WARNING = ("This does not look like a frontal chest X-ray like those the model was trained on. "
               "No AI reading is given for it.")
OOD_SHORT = "not a chest X-ray like the training data"
NO_LUNGS_WARNING = ("No plausible pair of lung fields was found: is this a frontal chest X-ray? "
                    "Treat the reading with caution.")


def label_title(label: str) -> str:
    """'covid' -> 'COVID-19'; unknown labels keep their own spelling, first letter raised."""
    return _TITLES.get(label.lower(), label[:1].upper() + label[1:])


NBSP = "\u00a0"  # keeps "68 %" together when a narrow list wraps the line


def percent(probability: float) -> str:
    """Whole per cent, but never '0 %' or '100 %' for a probability strictly between them."""
    value = 100.0 * float(probability)
    if 0.0 < value < 0.5:
        return f"<1{NBSP}%"
    if 99.5 <= value < 100.0:
        return f">99{NBSP}%"
    return f"{value:.0f}{NBSP}%"


def list_badge(result, sorted_by: str | None = None) -> str:
    """One short line under a file name in the image list: the reading at a glance.

    While the list is sorted by a class, that class's probability leads, so the reader
    sees why a row is where it is.
    """
    if result.ood_flag:
        return "⚠ not a chest X-ray?"
    if result.uncertain:
        reading = f"uncertain ({label_title(result.label)} {percent(result.confidence)})"
    else:
        reading = f"{label_title(result.label)} {percent(result.confidence)}"
    if sorted_by is None or sorted_by == result.label or sorted_by not in result.probabilities:
        return reading
    return f"{label_title(sorted_by)} {percent(result.probabilities[sorted_by])} · {reading}"


def timings_text(timings) -> str:
    names = (("load_ms", "decode"), ("preprocess_ms", "preprocess"), ("forward_ms", "forward"),
             ("cam_ms", "heat map"), ("total_ms", "total"))
    return "  ".join(f"{title} {timings[key]:.0f} ms" for key, title in names if key in timings)
