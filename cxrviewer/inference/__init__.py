"""The AI second reader off the UI thread: requests in, plain frozen results out.

Modules (import the one you need; this package imports nothing):

* ``requests``  - the frozen dataclasses that cross threads (no Qt, no torch).
* ``worker``    - ``InferenceWorker``, the Qt object the window uses (no torch:
  the model is reached with importlib inside the worker thread, so the window
  appears before torch is imported).
* ``work_queue`` - the thread-safe "latest wins" slot + bounded batch queue
  (MAX_PENDING_BATCHES, MAX_UNDELIVERED, QueueFullError).
* ``messages``  - exceptions -> one plain sentence for the user.
* ``engine``    - ``InferenceEngine``: model directory -> probabilities, OOD,
  Grad-CAM and timings for an image (torch, no Qt). Used by the worker thread
  and by ``cxr predict``.
"""
