"""Orientation letters from Patient Orientation and Image Orientation (Patient), through rotate/flip."""

from __future__ import annotations

import pytest

from cxrviewer.imaging.patient_orientation import edge_letters, letters_for, vector_from_letters

PA_CHEST = ((1.0, 0.0, 0.0), (0.0, 0.0, -1.0))  # rows towards the patient's Left, columns to the Feet
IDENTITY = ((1, 0), (0, 1))
ROT_CW = ((0, -1), (1, 0))
FLIP_H = ((-1, 0), (0, 1))


def test_pa_chest_as_stored() -> None:
    assert edge_letters(PA_CHEST, IDENTITY) == {"right": "L", "left": "R", "bottom": "F", "top": "H"}


def test_quarter_turn_clockwise_moves_the_head_to_the_right() -> None:
    assert edge_letters(PA_CHEST, ROT_CW) == {"right": "H", "left": "F", "bottom": "L", "top": "R"}


def test_flip_swaps_left_and_right_only() -> None:
    assert edge_letters(PA_CHEST, FLIP_H) == {"right": "R", "left": "L", "bottom": "F", "top": "H"}


@pytest.mark.parametrize(("letters", "vector"), [("L", (1, 0, 0)), ("A", (0, -1, 0)), ("H", (0, 0, 1))])
def test_single_letters(letters: str, vector) -> None:
    assert vector_from_letters(letters) == pytest.approx(vector)
    assert letters_for(vector) == letters


def test_oblique_letters_largest_first_and_small_tilts_ignored() -> None:
    assert letters_for(vector_from_letters("FL")) in ("LF", "FL")
    assert letters_for((0.98, 0.17, 0.0)) == "L"  # a 10 degree tilt stays 'L'
    assert letters_for((0.8, -0.6, 0.0)) == "LA"


def test_unknown_terms_give_no_letters() -> None:
    assert vector_from_letters("CR") is None
    assert edge_letters(None, IDENTITY) == {}
