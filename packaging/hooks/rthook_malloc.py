# PyInstaller runtime hook, added by build.spec to both executables: glibc's malloc
# thresholds (cxrviewer/malloc_tuning.py) set before the entry point imports anything
# large, in the decoder child processes too (each runs this hook as it starts).
# The mains call tune_malloc() as well; it acts once per process.
from cxrviewer.malloc_tuning import tune_malloc

tune_malloc()
