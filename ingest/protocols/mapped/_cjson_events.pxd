# The events the compiled mapped decoder builds (_cjson_events.pyx), by slot writes when checked
# equal to the constructors at import.

cdef object delta(str stream, str symbol, seq, venue_seq, ts, ts_recv, str side, price, size,
                  str action, level, bint batch_end, pd, sd)
cdef object quote(str stream, str symbol, seq, venue_seq, ts, ts_recv, bid, bid_size, ask,
                  ask_size, pd, sd)
cdef object trade(str stream, str symbol, seq, venue_seq, ts, ts_recv, price, size, pd, sd,
                  str side, str trade_id)
cdef bint by_slot_writes() noexcept
