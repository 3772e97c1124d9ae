"""Training the lung-field segmenter shipped in resources/models/lungs (`cxr train-lungs`)."""
