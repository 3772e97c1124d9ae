"""The model: architectures, preprocessing, model directories, calibration, OOD, Grad-CAM. No Qt."""
