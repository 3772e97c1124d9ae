"""The viewer's File ▸ Open from PACS… against the real Orthanc: search, retrieve, the image opens,
a study without images is named as failed, the password stays out of the settings file, and no
thread is left running after the window closes."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QSettings, Qt

from cxrviewer.gui.pacs_settings import BASIC, DICOMWEB, PacsNodeSettings, SecretStore, save_node_settings

from tests.gui.conftest import show_main_window

from .conftest import CHEST_CR, CHEST_DX, NO_IMAGES_STUDY

LOAD_TIMEOUT_MS = 60_000
pytestmark = pytest.mark.qt_log_ignore(r"This plugin does not support propagateSizeHints\(\)")


@pytest.fixture
def pacs_window(qtbot, tmp_path, orthanc):
    settings = QSettings(str(tmp_path / "cxrviewer.ini"), QSettings.Format.IniFormat)
    node = PacsNodeSettings(kind=DICOMWEB, url=orthanc.dicomweb_url, auth=BASIC, username=orthanc.auth[0],
                            cache_dir=str(tmp_path / "cache"), timeout_s=10)
    save_node_settings(settings, node)

    def private_secrets(win) -> None:
        win.pacs.secrets = SecretStore(use_keyring=False)  # the machine's keyring is not the test's
        win.pacs.secrets.set(node.secret_key, orthanc.auth[1])

    win = show_main_window(qtbot, settings, private_secrets)
    yield win
    win.close()
    assert not win.pacs.worker.is_running() and not win.loader.is_running()


def test_open_from_pacs_finds_retrieves_and_opens(qtbot, pacs_window, studies, tmp_path, orthanc):
    win = pacs_window
    dialog = win.pacs.show_dialog()
    assert dialog.secret_edit.text() == orthanc.auth[1]  # from the secret store, not the settings
    dialog.patient_id_edit.setText(str(studies[CHEST_CR].PatientID))
    qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=LOAD_TIMEOUT_MS)
    assert [s.study_uid for s in dialog.studies] == [studies[CHEST_CR].StudyInstanceUID], dialog.status_label.text()
    assert dialog.table.item(0, 2).text() == str(studies[CHEST_CR].PatientID)

    qtbot.mouseClick(dialog.retrieve_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: win.canvas.image is not None, timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=LOAD_TIMEOUT_MS)
    assert str(win.canvas.image.metadata.get("SOPInstanceUID", studies[CHEST_CR].SOPInstanceUID))
    assert win.canvas.image.path.is_relative_to(tmp_path / "cache")
    assert dialog.table.item(0, 7).text().startswith("opened: 1 image(s)")
    assert win.pacs.node_for(win.canvas.image.path) is not None  # AI ▸ Send results knows where it came from
    assert orthanc.auth[1] not in (tmp_path / "cxrviewer.ini").read_text()


def test_a_study_without_images_is_named_and_the_others_open(qtbot, pacs_window, studies):
    win = pacs_window
    dialog = win.pacs.show_dialog()
    dialog.modality_edit.setText("CR,DX,SR")  # also list the study that holds only a report
    qtbot.mouseClick(dialog.search_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=LOAD_TIMEOUT_MS)
    rows = {dialog.table.item(r, 0).data(Qt.ItemDataRole.UserRole + 1): r for r in range(dialog.table.rowCount())}
    wanted = (studies[CHEST_DX].StudyInstanceUID, NO_IMAGES_STUDY)
    assert set(wanted) <= set(rows), dialog.status_label.text()
    dialog.table.clearSelection()
    dialog.table.setSelectionMode(dialog.table.SelectionMode.MultiSelection)
    for uid in wanted:
        dialog.table.selectRow(rows[uid])
    dialog.retrieve_selected()
    qtbot.waitUntil(lambda: not dialog.busy(), timeout=LOAD_TIMEOUT_MS)
    qtbot.waitUntil(lambda: win.canvas.image is not None, timeout=LOAD_TIMEOUT_MS)
    assert "no CR/DX images" in dialog.table.item(rows[NO_IMAGES_STUDY], 7).text()
    assert dialog.table.item(rows[studies[CHEST_DX].StudyInstanceUID], 7).text().startswith("opened: 1 image(s)")
    assert "1 failed" in dialog.status_label.text()


def test_ai_inbox_adds_the_listeners_images(qtbot, pacs_window, dicom_dir, tmp_path):
    import shutil

    from cxrviewer.pacs.worklist import READ, Worklist, WorklistEntry

    win = pacs_window
    inbox = tmp_path / "inbox"
    worklist = Worklist(inbox)
    copy = inbox / "images" / "a.dcm"
    copy.parent.mkdir(parents=True)
    shutil.copy(dicom_dir / CHEST_DX, copy)
    watcher = win.pacs.open_inbox(inbox)
    assert watcher.refresh() == []
    worklist.put(WorklistEntry("2024-01-01T10:00:00", "1.2.3", "1.2", "1.2.4", str(copy), status=READ))
    qtbot.waitUntil(lambda: win.image_list.count() == 1, timeout=10_000)
    assert win.image_list.current_path() == copy


def test_without_a_keyring_secrets_live_in_memory_only():
    store = SecretStore(use_keyring=False)
    assert not store.persistent and "this session only" in store.note
    store.set("k", "s")
    assert store.get("k") == "s" and SecretStore(use_keyring=False).get("k") is None
