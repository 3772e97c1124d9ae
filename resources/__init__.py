"""Data files shipped with cxrviewer (installed as the package ``cxrviewer_resources``)."""
