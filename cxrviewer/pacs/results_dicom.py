"""The model's reading of one image as a DICOM Comprehensive SR (TID 1500 Measurement Report).

One measurement group referencing the source image (Study/Series/SOP Instance UID):
each class's probability and the OOD score as numeric measurements, the label as the
group's finding type, the uncertain and OOD flags as coded evaluations, the model (name, version, hashes) as its
algorithm identification, and a comment saying research use only, not for diagnosis.
Patient and study come from the source image's header, so the SR files beside it.
"""

from __future__ import annotations

from collections.abc import Mapping

import highdicom as hd
from pydicom import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from .model_identity import ModelIdentity
from .source_header import evidence_header, quiet_source_warnings

DISCLAIMER = "Research use only, not for diagnosis."
MANUFACTURER = "cxrviewer"
SCHEME = "99CXRV"  # our private coding scheme (the 99 prefix marks a local one)
SR_SERIES_NUMBER = 9901
SERIES_DESCRIPTION = "cxrviewer AI reading (research use only, not for diagnosis)"
PROCEDURE = hd.sr.CodedConcept("399208008", "SCT", "Plain chest X-ray")
UNCERTAIN = hd.sr.CodedConcept("uncertain", SCHEME, "Reading uncertain")
OOD_FLAG = hd.sr.CodedConcept("ood", SCHEME, "Unlike the training images (out of distribution)")
OOD_SCORE = hd.sr.CodedConcept("ood-score", SCHEME, "Out-of-distribution score (Mahalanobis distance)")
NO_UNITS = codes.UCUM.NoUnits


def probability_code(label: str) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(f"p-{label}"[:16], SCHEME, f"Probability of {label}")


def label_code(label: str) -> hd.sr.CodedConcept:
    return hd.sr.CodedConcept(label[:16], SCHEME, label)


def build_reading_sr(source: Dataset, record: Mapping, model: ModelIdentity,
                     series_uid: str | None = None) -> hd.sr.ComprehensiveSR:
    """The SR for one successful ``cxr predict`` record (``ok`` true) of the image ``source``
    (its header is enough: no pixel data is read)."""
    if not record.get("ok"):
        raise ValueError("only a successful reading can be written as an SR")
    with quiet_source_warnings():
        return _build(evidence_header(source), record, model, series_uid)


def _build(source: Dataset, record: Mapping, model: ModelIdentity, series_uid: str | None) -> hd.sr.ComprehensiveSR:
    group = hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier="cxrviewer AI reading"),
        finding_type=label_code(record["label"]),  # TID 1501's "Finding": the predicted class
        algorithm_id=_algorithm(model),
        measurements=_measurements(record),
        qualitative_evaluations=_evaluations(record),
        source_images=[hd.sr.SourceImageForMeasurementGroup.from_source_image(source)],
    )
    report = _report(model, group, source)
    report[0].ContentSequence.append(hd.sr.TextContentItem(
        name=codes.DCM.Comment, value=DISCLAIMER, relationship_type=hd.sr.RelationshipTypeValues.CONTAINS))
    sr = hd.sr.ComprehensiveSR(
        evidence=[source], content=report[0], series_instance_uid=series_uid or generate_uid(),
        series_number=SR_SERIES_NUMBER, sop_instance_uid=generate_uid(), instance_number=1,
        manufacturer=MANUFACTURER, is_complete=True, is_final=False, is_verified=False,
        series_description=SERIES_DESCRIPTION,
    )
    sr.ManufacturerModelName = model.name[:64]
    sr.SoftwareVersions = model.software_version
    return sr


def _report(model: ModelIdentity, group, source: Dataset) -> hd.sr.MeasurementReport:
    """With the source in the image library when its header allows; highdicom's library entry for a
    CR/DX needs Imager Pixel Spacing, which real radiographs often lack (the group still references it)."""
    def report(images):
        return hd.sr.MeasurementReport(observation_context=_observation_context(model), procedure_reported=PROCEDURE,
                                       imaging_measurements=[group], referenced_images=images)

    try:
        return report([source])
    except (AttributeError, IndexError, KeyError, TypeError, ValueError):
        return report(None)


def _algorithm(model: ModelIdentity) -> hd.sr.AlgorithmIdentification:
    return hd.sr.AlgorithmIdentification(name=model.name, version=model.version, parameters=model.parameters(),
                                         manufacturer=MANUFACTURER)


def _measurements(record: Mapping) -> list[hd.sr.Measurement]:
    found = [hd.sr.Measurement(name=probability_code(label), value=float(p), unit=NO_UNITS)
             for label, p in record["probabilities"].items() if p is not None]
    score = (record.get("ood") or {}).get("score")
    if score is not None:
        found.append(hd.sr.Measurement(name=OOD_SCORE, value=float(score), unit=NO_UNITS))
    return found


def _evaluations(record: Mapping) -> list[hd.sr.QualitativeEvaluation]:
    def yes_no(flag) -> hd.sr.CodedConcept:
        return codes.SCT.Yes if flag else codes.SCT.No

    return [hd.sr.QualitativeEvaluation(UNCERTAIN, yes_no(record["uncertain"])),
            hd.sr.QualitativeEvaluation(OOD_FLAG, yes_no((record.get("ood") or {}).get("flag")))]


def _observation_context(model: ModelIdentity) -> hd.sr.ObservationContext:
    device = hd.sr.DeviceObserverIdentifyingAttributes(
        uid=generate_uid(entropy_srcs=[model.weights_sha256 or model.name]),  # one UID per model, stable
        name="cxrviewer AI second reader", manufacturer_name=MANUFACTURER, model_name=model.name[:64])
    return hd.sr.ObservationContext(observer_device_context=hd.sr.ObserverContext(
        observer_type=codes.DCM.Device, observer_identifying_attributes=device))
