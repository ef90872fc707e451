# C helpers for reading an object's slots without an attribute lookup; pipelines/core/fields.py
# is their checked, one-source facade (use it, not these, outside fields.py).
from cpython.object cimport PyObject, PyTypeObject

cdef extern from "Python.h":
    bint PyType_IsSubtype(PyTypeObject* a, PyTypeObject* b)

cdef extern from *:
    """
    #include <structmember.h>
    /* The offset of a member descriptor's object slot, or -1 when it is not one. */
    static Py_ssize_t tp_field_offset(PyObject *descr) {
        PyMemberDef *member;
        if (descr == NULL || Py_TYPE(descr) != &PyMemberDescr_Type) return -1;
        member = ((PyMemberDescrObject *)descr)->d_member;
        if (member->type != T_OBJECT_EX || (member->flags & READ_RESTRICTED)) return -1;
        return member->offset;
    }
    #define TP_FIELD(obj, offset) (*(PyObject **)((char *)(obj) + (offset)))
    """
    Py_ssize_t tp_field_offset(object descr)
    PyObject* TP_FIELD(object obj, Py_ssize_t offset)
