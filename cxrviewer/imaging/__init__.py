"""Display-side image maths (windowing, presets) shared by the viewer, CLI and model. No Qt."""
