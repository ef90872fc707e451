# Reading the fields of an event (a msgspec Struct) in compiled code without a Python attribute
# lookup. A Struct's fields are plain object slots (member descriptors, like __slots__): once the
# type is known EXACTLY (``type(event) is BookDelta``), a field is the pointer at the descriptor's
# offset. ``getattr`` costs ~10 ns a field; this costs a load. Any other type (a subclass, a duck)
# goes through ``getattr`` as the reference does.
from cpython.object cimport PyObject, PyTypeObject

cdef extern from "Python.h":
    bint PyType_IsSubtype(PyTypeObject* a, PyTypeObject* b)

cdef extern from *:
    """
    #include <structmember.h>
    /* The offset of a member descriptor's object slot, or -1 when it is not one. */
    static Py_ssize_t tp_field_offset(PyObject *descr) {
        PyMemberDef *member;
        if (Py_TYPE(descr) != &PyMemberDescr_Type) return -1;
        member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX || (member->flags & READ_RESTRICTED)) return -1;
        return member->offset;
    }
    #define TP_FIELD(obj, offset) (*(PyObject **)((char *)(obj) + (offset)))
    #define TP_SET_FIELD(obj, offset, value) (TP_FIELD(obj, offset) = (value))
    /* A data descriptor's value on obj through the descriptor's own get slot: what obj.name
       returns when the class defines name as a slot or a cdef attribute and instances have no
       __dict__ (the caller checks both), without the per-read type lookup. */
    static PyObject* tp_descr_value(PyObject *descr, PyObject *obj) {
        descrgetfunc get = Py_TYPE(descr)->tp_descr_get;
        if (get == NULL) { PyErr_SetString(PyExc_TypeError, "not a descriptor"); return NULL; }
        return get(descr, obj, (PyObject *)Py_TYPE(obj));
    }
    /* "bid" / "delete" tests on a str without a call: identity, else length and bytes. */
    static int tp_str_is(PyObject *s, PyObject *literal, const char *bytes, Py_ssize_t n) {
        if (s == literal) return 1;
        if (!PyUnicode_CheckExact(s)) return -1;  /* let the caller compare generically */
        if (PyUnicode_GET_LENGTH(s) != n || PyUnicode_KIND(s) != PyUnicode_1BYTE_KIND) return 0;
        return memcmp(PyUnicode_1BYTE_DATA(s), bytes, n) == 0;
    }
    """
    Py_ssize_t tp_field_offset(object descr)
    PyObject* TP_FIELD(object obj, Py_ssize_t offset)
    void TP_SET_FIELD(object obj, Py_ssize_t offset, PyObject* value)  # steals nothing: see use
    object tp_descr_value(object descr, object obj)
    int tp_str_is(object s, object literal, const char* data, Py_ssize_t n)


cdef inline Py_ssize_t field_offset(object cls, str name) except -2:
    """Where ``cls``'s field ``name`` lives; raises if it is not a plain object slot."""
    cdef Py_ssize_t offset = tp_field_offset(getattr(cls, name))
    if offset < 0:
        raise TypeError(f"{cls.__name__}.{name} is not an object slot")
    return offset


cdef inline object field(object obj, Py_ssize_t offset, str name):
    """Field ``name`` at ``offset`` of ``obj`` (whose type the caller checked); a slot left empty
    raises AttributeError through ``getattr``, as the reference would."""
    cdef PyObject* value = TP_FIELD(obj, offset)
    if value == NULL:
        return getattr(obj, name)
    return <object>value


cdef inline bint str_is(object value, str literal, const char* data, Py_ssize_t n) except -1:
    """``value == literal`` for an ASCII ``literal`` of ``n`` bytes ``data`` (identity, then
    length and bytes; anything but an exact str compares generically)."""
    cdef int found = tp_str_is(value, literal, data, n)
    if found < 0:
        return value == literal
    return found
