"""A real Orthanc PACS for the tests: loopback ports chosen at run time, a temp storage folder,
the DICOMweb plugin on, one registered user; stopped (and waited for) at teardown.

Orthanc comes from Debian (`.ci/system-deps.sh` installs orthanc and orthanc-dicomweb).
Without it the tests that need it skip with :data:`MISSING_REASON`; under
CXR_REQUIRE_FULL_DATA=1 (CI) they fail instead, since CI is meant to have it.
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import requests

ORTHANC_BINARIES = ("/usr/sbin/Orthanc", "Orthanc")
DICOMWEB_PLUGINS = ("/usr/share/orthanc/plugins/libOrthancDicomWeb.so",
                    "/usr/lib/orthanc/libOrthancDicomWeb.so")
MISSING_REASON = "needs Orthanc with its DICOMweb plugin (apt-get install orthanc orthanc-dicomweb)"
USER, PASSWORD = "cxr", "cxr-test-secret"
ORTHANC_AET = "ORTHANC"
CLIENT_AET = "CXRTEST"  # the only AE title Orthanc lets in over DIMSE (from 127.0.0.1)
START_TIMEOUT_S = 30.0


def find_orthanc() -> tuple[str, str] | None:
    binary = next((b for b in (shutil.which(name) for name in ORTHANC_BINARIES) if b), None)
    plugin = next((p for p in DICOMWEB_PLUGINS if Path(p).is_file()), None)
    return (binary, plugin) if binary and plugin else None


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@dataclass
class OrthancServer:
    root: Path
    http_port: int
    dicom_port: int
    process: subprocess.Popen | None = None

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def dicomweb_url(self) -> str:
        return f"{self.rest_url}/dicom-web"

    @property
    def auth(self) -> tuple[str, str]:
        return USER, PASSWORD

    def config(self, plugin: str) -> dict:
        storage = self.root / "storage"
        return {
            "Name": "cxr-test", "StorageDirectory": str(storage), "IndexDirectory": str(storage),
            "HttpPort": self.http_port, "DicomPort": self.dicom_port, "DicomAet": ORTHANC_AET,
            # Loopback only: HTTP from elsewhere is refused, DIMSE only from our AE title at 127.0.0.1.
            "RemoteAccessAllowed": False, "AuthenticationEnabled": True, "RegisteredUsers": {USER: PASSWORD},
            "DicomCheckModalityHost": True, "DicomAlwaysAllowEcho": False, "DicomAlwaysAllowStore": False,
            "DicomAlwaysAllowFind": False, "DicomAlwaysAllowGet": False, "DicomAlwaysAllowMove": False,
            "DicomModalities": {"cxrtest": {"AET": CLIENT_AET, "Host": "127.0.0.1", "Port": free_port(),
                                            "AllowEcho": True, "AllowFind": True, "AllowGet": True,
                                            "AllowStore": True, "AllowMove": False}},
            "Plugins": [plugin], "DicomWeb": {"Enable": True, "Root": "/dicom-web/", "EnableWado": False},
            "SaveJobs": False, "HttpThreadsCount": 4, "ConcurrentJobs": 1, "DicomScpTimeout": 10,
            "UnknownSopClassAccepted": True, "StorageCompression": False,
        }

    def start(self, binary: str, plugin: str) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        config = self.root / "orthanc.json"
        config.write_text(json.dumps(self.config(plugin), indent=2))
        log = open(self.root / "orthanc.log", "wb")
        self.process = subprocess.Popen([binary, str(config)], stdout=log, stderr=subprocess.STDOUT,
                                        stdin=subprocess.DEVNULL, cwd=self.root)
        log.close()
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"Orthanc exited with {self.process.returncode}: {self.log_tail()}")
            try:
                reply = requests.get(f"{self.dicomweb_url}/studies", auth=self.auth, timeout=2)
                if reply.status_code == 200 and self._dimse_answers():
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        self.stop()
        raise RuntimeError(f"Orthanc was not ready within {START_TIMEOUT_S:g} s: {self.log_tail()}")

    def _dimse_answers(self) -> bool:
        """True once the DICOM server answers an association request (HTTP comes up first: a test
        that associated in between saw the connection dropped, neither accepted nor rejected)."""
        from pynetdicom import AE

        ae = AE(ae_title="CXRREADY")  # not registered: a rejection is the answer we wait for
        ae.acse_timeout = ae.network_timeout = ae.connection_timeout = 2
        ae.add_requested_context("1.2.840.10008.1.1")  # Verification
        assoc = ae.associate("127.0.0.1", self.dicom_port, ae_title=ORTHANC_AET)
        if assoc.is_established:
            assoc.release()
        return assoc.is_rejected or assoc.is_established

    def log_tail(self, chars: int = 2000) -> str:
        try:
            return (self.root / "orthanc.log").read_text(errors="replace")[-chars:]
        except OSError:
            return "(no log)"

    def upload(self, data: bytes) -> dict:
        reply = requests.post(f"{self.rest_url}/instances", data=data, auth=self.auth, timeout=30)
        reply.raise_for_status()
        return reply.json()

    def upload_file(self, path: Path) -> dict:
        return self.upload(Path(path).read_bytes())

    def get(self, route: str, **kwargs):
        reply = requests.get(f"{self.rest_url}{route}", auth=self.auth, timeout=30, **kwargs)
        reply.raise_for_status()
        return reply

    def post(self, route: str, **kwargs):
        reply = requests.post(f"{self.rest_url}{route}", auth=self.auth, timeout=30, **kwargs)
        reply.raise_for_status()
        return reply

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=15)


def start_orthanc(root: Path) -> OrthancServer:
    """A running Orthanc in ``root``; raises LookupError when Orthanc is not installed."""
    found = find_orthanc()
    if found is None:
        raise LookupError(MISSING_REASON)
    for attempt in range(3):  # a port picked free may be taken before Orthanc binds it
        server = OrthancServer(root / f"run{attempt}", free_port(), free_port())
        try:
            server.start(*found)
            return server
        except RuntimeError:
            if attempt == 2:
                raise
    raise AssertionError("unreachable")
