"""Protocol plugins (FIX, SBE, JSON mappings): none are built in yet.

Importing this package is what registers built-in protocol plugins in
:data:`pipelines.registry.PROTOCOLS`; decoders land here in a later issue.
"""

__all__: list[str] = []
