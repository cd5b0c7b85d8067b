"""Reports -> passages -> vectors -> an index on disk, kept in sync with the library folder.

Never imports ``qa``, ``gradio`` or ``app``.
"""
