# int16 dot products, shared by conv2d and fully_connected (cimport dot). Written as plain loops over
# contiguous arrays with int32 accumulators so that gcc -O3 vectorises them (pmaddwd on x86, smlal on Arm).

from libc.stdint cimport int16_t, int32_t


cdef inline int32_t dot_s16(const int16_t* a, const int16_t* b, Py_ssize_t n) noexcept nogil:
    cdef int32_t s = 0
    cdef Py_ssize_t i
    for i in range(n):
        s += a[i] * b[i]
    return s


cdef inline void dot4_s16(const int16_t* a, const int16_t* b, Py_ssize_t n, int32_t* out) noexcept nogil:
    """Four dot products of a with the consecutive rows b[0:n], b[n:2n], b[2n:3n], b[3n:4n] (a read once)."""
    cdef int32_t s0 = 0, s1 = 0, s2 = 0, s3 = 0
    cdef const int16_t* b1 = b + n
    cdef const int16_t* b2 = b + 2 * n
    cdef const int16_t* b3 = b + 3 * n
    cdef Py_ssize_t i
    for i in range(n):
        s0 += a[i] * b[i]
        s1 += a[i] * b1[i]
        s2 += a[i] * b2[i]
        s3 += a[i] * b3[i]
    out[0] = s0
    out[1] = s1
    out[2] = s2
    out[3] = s3
