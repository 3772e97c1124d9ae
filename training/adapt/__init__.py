"""Site adaptation: repair an existing model directory with a few hundred labelled local images.

    cxr adapt --data CSV_OR_DIR --out DIR [--model DIR]

Modules, one job each:

* ``options``    the typed, frozen settings of one adaptation run
* ``site_data``  read the site's labelled images, map their labels onto the model's, fold by group
* ``features``   the frozen part of the model run once per image and view, cached on disk
* ``methods``    the candidates: recalibration, a linear head, fine-tuning the last stages (L2-SP)
* ``selection``  out-of-fold predictions of every candidate, and the choice between them
* ``summary``    before/after metrics with bootstrap confidence intervals, and the card section
* ``pipeline``   one run end to end: data -> features -> choose -> refit on all -> export
* ``cli``        the ``cxr adapt`` command
"""
