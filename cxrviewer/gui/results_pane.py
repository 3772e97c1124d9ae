"""Right-hand AI pane: the model, its reading of the image on screen, and the heat-map controls.

States (``state`` attribute, for tests and the status bar): "no_model", "loading",
"idle" (model ready, nothing to analyse), "analysing", "result", "error".
The research-use statement is the first thing in the pane in every state.

Wording rules, as a radiologist would want them: a verdict is only worded when the
model is confident (``not uncertain``) and the image looks like its training data
(``not ood_flag``). Otherwise the pane says why there is no reading; the bars stay
for the curious, greyed out when the image is out of distribution.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from cxrviewer.model.cam_options import CAM_METHOD_TITLES, CAM_METHODS

from cxrviewer.imaging.heatmap import DEFAULT_OPACITY
from cxrviewer.inference.requests import CAM_OUTSIDE_LUNGS_CAUTION

from .ai_format import NO_LUNGS_WARNING, OOD_WARNING, label_title, percent, timings_text
from .dialogs import NOT_FOR_DIAGNOSIS
from .heat_legend import HeatLegend
from .probability_bars import ProbabilityBars

PREDICTED = None  # the class picker's "explain the predicted class" entry


def _label(object_name: str = "", wrap: bool = True) -> QLabel:
    label = QLabel()
    if object_name:
        label.setObjectName(object_name)
    label.setWordWrap(wrap)
    label.setTextFormat(Qt.TextFormat.PlainText)  # messages may carry file names
    return label


def _state_button(label, signal, tooltip: str) -> QPushButton:
    """A checked, checkable button that says its state in words (a small checkbox is easy to miss
    on a dark theme); ``label(shown, button)`` words it, ``signal`` hears every toggle."""
    button = QPushButton()
    button.setCheckable(True)
    button.setChecked(True)
    button.setToolTip(tooltip)
    label(True, button)
    button.toggled.connect(lambda shown: label(shown, button))
    button.toggled.connect(signal)
    return button


class ResultsPane(QWidget):
    camToggled = Signal(bool)
    lungsToggled = Signal(bool)
    camOpacityChanged = Signal(float)  # 0..1
    camTargetChanged = Signal(object)  # a model label, or None for the predicted class
    camMethodChanged = Signal(str)
    modelCardRequested = Signal()

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.state = "loading"
        self._labels: tuple[str, ...] = ()
        self._result = None  # the reading on show, for re-wording the heat-map line
        self.disclaimer = _label("disclaimer")
        self.disclaimer.setText("Research use only — not for diagnosis")
        self.disclaimer.setToolTip(NOT_FOR_DIAGNOSIS)
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(0, 0, 0, 0)
        column.addWidget(self._build_model_box())
        column.addWidget(self._build_reading())
        column.addWidget(self._build_cam_controls())
        column.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setWidget(content)
        layout = QVBoxLayout(self)
        layout.addWidget(self.disclaimer)  # outside the scroll area: always visible
        layout.addWidget(scroll, 1)
        self.set_model_loading()

    # ----- construction -----------------------------------------------------------
    def _build_model_box(self) -> QWidget:
        wrapper = QWidget()
        column = QVBoxLayout(wrapper)
        column.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()  # a nested layout: no extra widget needed for the name + button row
        self.model_label = _label("modelName")
        self.card_button = QPushButton("Model card…")
        self.card_button.setToolTip("What the model was trained on, how well it did, and its limits")
        self.card_button.clicked.connect(self.modelCardRequested)
        row.addWidget(self.model_label, 1)
        row.addWidget(self.card_button, 0, Qt.AlignmentFlag.AlignTop)
        column.addLayout(row)
        self.model_notice = _label("modelNotice")  # a refused model: why, and what is still in use
        self.model_notice.hide()
        column.addWidget(self.model_notice)
        return wrapper

    def _build_reading(self) -> QWidget:
        box = QWidget()
        column = QVBoxLayout(box)
        column.setContentsMargins(0, 6, 0, 0)
        self.headline = _label("verdict")
        self.subline = _label("hint")
        self.ood_warning = _label("oodWarning")
        self.ood_warning.setText("⚠ " + OOD_WARNING)
        self.ood_warning.hide()
        self.lung_warning = _label("oodWarning")  # no plausible lungs: same look as the OOD warning
        self.lung_warning.setText("⚠ " + NO_LUNGS_WARNING)
        self.lung_warning.hide()
        self.bars = ProbabilityBars()
        self.bars_caption = _label("hint")
        self.details = _label("details")
        for widget in (self.ood_warning, self.lung_warning, self.headline, self.subline, self.bars, self.bars_caption,
                       self.details):
            column.addWidget(widget)
        return box

    def _build_cam_controls(self) -> QWidget:
        self.cam_box = QWidget()
        # Full-width rows in a column; only the labelled controls in a form. Word-wrapped labels
        # added as spanning form rows were given one line too few and clipped.
        column = QVBoxLayout(self.cam_box)
        column.setContentsMargins(0, 10, 0, 0)
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        self.cam_toggle = _state_button(self._label_cam_toggle, self.camToggled,
                                        "Where in the image the model looked for the class below (Grad-CAM)")
        self.opacity_slider = QSlider(Qt.Orientation.Horizontal)
        self.opacity_slider.setRange(0, 100)
        self.opacity_slider.setValue(round(DEFAULT_OPACITY * 100))
        self.opacity_slider.setToolTip("Heat-map opacity")
        self.opacity_slider.valueChanged.connect(lambda v: self.camOpacityChanged.emit(v / 100.0))
        self.class_picker = QComboBox()
        self.class_picker.setToolTip("Which class the heat map explains")
        self.class_picker.activated.connect(lambda _i: self.camTargetChanged.emit(self.cam_target()))
        self.method_picker = QComboBox()
        for method in CAM_METHODS:
            self.method_picker.addItem(CAM_METHOD_TITLES[method], method)
        self.method_picker.activated.connect(lambda _i: self.camMethodChanged.emit(self.cam_method()))
        self.lung_toggle = _state_button(self._label_lung_toggle, self.lungsToggled,
                                         "The lung fields found by the lung model, as a cyan outline")
        self.legend = HeatLegend()
        self.attention_warning = _label("oodWarning")
        self.attention_warning.setText("⚠ " + CAM_OUTSIDE_LUNGS_CAUTION)
        self.attention_warning.hide()
        form.addRow("Opacity", self.opacity_slider)
        form.addRow("Explain", self.class_picker)
        form.addRow("Method", self.method_picker)
        self.cam_status = _label("hint")
        self.lung_status = _label("hint")
        for row in (self.cam_toggle, self.legend, self.legend.caption, self.attention_warning, form,
                    self.cam_status, self.lung_toggle, self.lung_status):
            column.addLayout(row) if isinstance(row, QFormLayout) else column.addWidget(row)
        return self.cam_box

    def _label_lung_toggle(self, shown: bool, button: QPushButton | None = None) -> None:
        (button or self.lung_toggle).setText("Lung outline shown — hide (L)" if shown else
                                             "Lung outline hidden — show (L)")

    def _label_cam_toggle(self, shown: bool, button: QPushButton | None = None) -> None:
        (button or self.cam_toggle).setText("Heat map shown — hide (G)" if shown else "Heat map hidden — show (G)")
        if getattr(self, "_result", None) is not None:
            self.show_cam_info(self._result)

    # ----- model states -----------------------------------------------------------------
    def set_model_loading(self) -> None:
        self.model_label.setText("Model: loading…")
        self.card_button.setEnabled(False)
        self.cam_box.hide()
        self._show_state("loading", "Loading the AI model…", "The viewer can be used meanwhile.")

    def set_no_model(self, message: str) -> None:
        self.model_label.setText("Model: none installed")
        self.card_button.setEnabled(False)
        self.cam_box.hide()
        self._show_state("no_model", "No AI model installed", message)

    def set_model_failed(self, message: str) -> None:
        self.model_label.setText("Model: could not be loaded")
        self.card_button.setEnabled(False)
        self.cam_box.hide()
        self._show_state("no_model", "No AI model in use", message)

    def set_model(self, title: str, tooltip: str, labels: tuple[str, ...], has_card: bool) -> None:
        self.model_label.setText(title)
        self.model_label.setToolTip(tooltip)
        self.card_button.setEnabled(has_card)
        self.model_notice.hide()
        self._set_labels(labels)
        self.cam_box.show()
        self.show_idle()

    def show_model_refused(self, message: str) -> None:
        """A model the reader chose was refused; the one in use (if any) stays."""
        self.model_notice.setText(f"⚠ Model not loaded: {message}")
        self.model_notice.show()

    def _set_labels(self, labels: tuple[str, ...]) -> None:
        self._labels = labels
        self.class_picker.clear()
        self.class_picker.addItem("Predicted class", PREDICTED)
        for label in labels:
            self.class_picker.addItem(label_title(label), label)

    # ----- image states ---------------------------------------------------------------
    def show_idle(self, message: str = "Open an image to have it analysed.") -> None:
        self._show_state("idle", message, "")

    def show_analysing(self, name: str) -> None:
        self._show_state("analysing", "Analysing…", name)

    def show_error(self, message: str) -> None:
        self._show_state("error", "The analysis failed", message)

    def show_result(self, result, uncertain_below: float) -> None:
        self.state = "result"
        self._result = result
        self.ood_warning.setVisible(result.ood_flag)
        lungs = result.lungs
        self.lung_warning.setVisible(lungs is not None and not lungs.found and not result.ood_flag)
        self.bars.set_probabilities(result.probabilities, dimmed=result.ood_flag, emphasise_top=not result.uncertain)
        self.bars.show()
        self.bars_caption.setVisible(True)
        if result.ood_flag:
            self._set_headline("", "")
            self.bars_caption.setText("Probabilities shown for reference only: they are not reliable "
                                      "for this image.")
        elif result.uncertain:
            self._set_headline("Uncertain", f"No class reaches {percent(uncertain_below)}; the model "
                                            "gives no reading for this image.")
            self.bars_caption.setText("Calibrated probabilities")
        else:
            self._set_headline(f"{label_title(result.label)} — {percent(result.confidence)}",
                               "Most probable class, calibrated probability")
            self.bars_caption.setText("Calibrated probabilities")
        ood = f"OOD score {result.ood_score:.1f}" + (" (above threshold)" if result.ood_flag else "")
        total = result.timings.get("total_ms")
        self.details.setText(ood if total is None else f"{ood}  ·  analysed in {total:.0f} ms")
        self.details.setToolTip(timings_text(result.timings))
        self.details.show()
        self.show_cam_info(result)

    def show_cam_info(self, result) -> None:
        self._result = result
        self._show_lung_info(result)
        self.attention_warning.setVisible(result.cam is not None and result.attention_outside_lungs)
        self.legend.setVisible(result.cam is not None)
        if result.cam is None:
            self.cam_status.setText("No heat map for this reading.")
            return
        self.legend.set_strength(result.cam_label and label_title(result.cam_label), result.cam_strength)
        method = CAM_METHOD_TITLES.get(result.cam_method, result.cam_method)
        text = f"Heat map: {method} for {label_title(result.cam_label)}"
        if result.ood_flag and self.cam_toggle.isChecked():
            text += " — explains a reading that should not be trusted"
        elif result.ood_flag:
            text += " — hidden: it would explain an untrusted reading (G shows it)"
        self.cam_status.setText(text)

    def _show_lung_info(self, result) -> None:
        lungs = result.lungs
        self.lung_toggle.setVisible(lungs is not None)
        if lungs is None:
            self.lung_status.setText("")
        elif not lungs.found:
            self.lung_status.setText(f"Lung fields: not found ({lungs.reason}).")
        elif lungs.cam_in_lungs is None:
            self.lung_status.setText(f"Lung fields: {lungs.area_fraction:.0%} of the image.")
        else:
            self.lung_status.setText(f"Lung fields: {lungs.area_fraction:.0%} of the image; "
                                     f"{lungs.cam_in_lungs:.0%} of the heat map lies inside them.")

    def show_cam_pending(self) -> None:
        self.cam_status.setText("Computing the heat map…")

    def _show_state(self, state: str, headline: str, subline: str) -> None:
        self.state = state
        self._result = None
        self._set_headline(headline, subline)
        self.ood_warning.hide()
        self.bars.clear()
        self.bars.hide()
        self.bars_caption.hide()
        self.details.hide()
        self.cam_status.setText("")
        self.lung_warning.hide()
        self.attention_warning.hide()
        self.legend.setVisible(False)
        self.lung_status.setText("")

    def _set_headline(self, headline: str, subline: str) -> None:
        self.headline.setText(headline)
        self.headline.setVisible(bool(headline))
        self.subline.setText(subline)
        self.subline.setVisible(bool(subline))

    # ----- heat-map choices ----------------------------------------------------------------
    def cam_target(self) -> str | None:
        return self.class_picker.currentData()

    def cam_method(self) -> str:
        return self.method_picker.currentData()

    def reset_cam_target(self) -> None:
        """A new image: explain its predicted class again."""
        self.class_picker.setCurrentIndex(0)

    def set_cam_checked(self, checked: bool) -> None:
        self.cam_toggle.setChecked(checked)

    def set_lungs_checked(self, checked: bool) -> None:
        self.lung_toggle.setChecked(checked)
