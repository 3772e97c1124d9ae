"""Hospital integration (no Qt): find studies on a PACS, fetch their images, send the readings back.

DICOMweb (QIDO-RS, WADO-RS, STOW-RS) through ``dicomweb-client``; DIMSE (C-ECHO,
C-FIND, C-GET) through ``pynetdicom``; what we write (a TID 1500 Comprehensive SR
and a Secondary Capture with the heat map) through ``highdicom``. Every network
call has a time-out, and every failure is a :class:`~cxrviewer.pacs.errors.PacsError`
whose message a user can act on. Nothing here logs patient data.
"""
