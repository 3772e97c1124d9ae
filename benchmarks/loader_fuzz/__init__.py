"""The loader fuzzer behind benchmarks/fuzz_loader.py: seeds, mutators, the run and its tally.

    seeds.py, seeds_dicom.py, seeds_raster.py   the shared files and small files cut from them
    canaries.py       identifiers planted in the seeds, so a message that quotes one is caught
    dicom_bytes.py    where each DICOM element lies in a file, and how to write one
    dicom_fields.py   the image header fields a mutant lies about, and the lies
    encapsulated.py   compressed Pixel Data: offset table and fragments
    codestreams.py    JPEG / JPEG-LS / JPEG 2000 / RLE headers inside a fragment
    png_chunks.py     PNG chunks with their CRC
    values.py         interesting values for a field
    mutate_*.py       the mutators, one family per file; mutators.py picks one per mutant
    bombs.py, deflate.py   size and deflate bombs
    outcome.py        what one load did: decoded, refused, crashed, hung, leaked ...
    announced.py      the image size a mutant's header announces (for its memory budget)
    child_memory.py   peak RSS of the decoder process per file, and the budget
    trivial.py        the decoder's base: its peak on a trivial file
    tally.py          counts and examples, as the JSON the script prints
    run.py            worker threads, checkpoints, interruption
"""
