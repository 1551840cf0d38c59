// Package elem describes the elements of shmkit's values, arrays and
// channels: Python's typecodes, and the layouts of records (typecode T),
// read from and written to the description stored after an object's data.
// Package ctypes gives it to users under its own names; package channel
// uses it directly, so that a program with only channels links none of the
// mutex machinery ctypes' locks need.
package elem
