"""The ``sanarip`` command: a composition root beside ``worker.py``. It parses arguments and
calls the packages; the domain work lives in the core and the stages.

Heavy stages (ffmpeg helpers, faster-whisper, Elasticsearch) are imported inside commands, so
``sanarip --help`` stays fast and never loads a model.
"""
