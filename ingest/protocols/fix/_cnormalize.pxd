# Declarations of the compiled FIX normalizer (_cnormalize.pyx). Its W/X steps and state are
# MarketData's (_centries.pxd), which the fused decoder (_cplugin.pyx) runs on the same state.

from ingest.protocols.fix._centries cimport MarketData


cdef class Normalizer(MarketData):
    cdef object reference
    cdef object reference_other

    cdef object _entries(self, dict fields)
    cdef list _instrument(self, object message, object ts_recv)
