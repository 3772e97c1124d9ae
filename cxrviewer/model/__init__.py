"""The model: architectures, preprocessing, model directories, calibration, OOD. No Qt.

Public API: Predictor / Prediction (predictor.py), preprocess / PreprocessConfig /
Geometry (preprocess.py), ModelConfig (config.py), ModelDirError and subclasses
(errors.py), create_random_model_dir (export.py). Import the submodules directly;
this package imports nothing so `import cxrviewer.model` stays cheap.
"""
