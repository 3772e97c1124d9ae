"""Local retraining of the cxrviewer model (imports no Qt)."""
