"""Errors raised when a model directory cannot be used. All share ModelDirError."""


class ModelDirError(Exception):
    """A model directory cannot be loaded; the message says why, in plain words."""


class ModelFileMissingError(ModelDirError):
    pass


class ModelFormatError(ModelDirError):
    """model.json is unreadable, incomplete or of another format version."""


class ModelIntegrityError(ModelDirError):
    """A file does not match the sha256 recorded in model.json (corrupted or tampered)."""
