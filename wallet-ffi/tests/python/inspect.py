"""The same inspector through Python's ctypes: proves the C ABI from a second language.

usage: inspect.py LIBRARY ROOTS_PEM NOW_UNIX BUNDLE QR_TEXT
Prints JSON lines: the verification, then a decode of garbage (the error)."""
import ctypes
import json
import sys

lib = ctypes.CDLL(sys.argv[1])
lib.ecert_inspector_open.restype = ctypes.c_void_p
lib.ecert_inspector_open.argtypes = [ctypes.c_char_p, ctypes.c_size_t, ctypes.c_char_p, ctypes.c_int64, ctypes.c_int64]
lib.ecert_inspector_verify.restype = ctypes.c_void_p
lib.ecert_inspector_verify.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_int64]
lib.ecert_inspector_free.argtypes = [ctypes.c_void_p]
lib.ecert_decode_qr_text.restype = ctypes.c_void_p
lib.ecert_decode_qr_text.argtypes = [ctypes.c_char_p]
lib.ecert_string_free.argtypes = [ctypes.c_void_p]
lib.ecert_last_error.restype = ctypes.c_char_p


def take(ptr):
    if not ptr:
        return {"failed": json.loads(lib.ecert_last_error())}
    text = ctypes.cast(ptr, ctypes.c_char_p).value.decode("utf-8")
    lib.ecert_string_free(ptr)
    return json.loads(text)


roots = open(sys.argv[2], "rb").read()
now = int(sys.argv[3])
bundle = open(sys.argv[4], "rb").read()
qr = sys.argv[5].encode("utf-8")
inspector = lib.ecert_inspector_open(bundle, len(bundle), roots, -1, now)
if not inspector:
    print(json.dumps({"failed": json.loads(lib.ecert_last_error())}))
    sys.exit(1)
print(json.dumps(take(lib.ecert_inspector_verify(inspector, qr, now)), ensure_ascii=False))
print(json.dumps(take(lib.ecert_decode_qr_text(b"EC1:garbage")), ensure_ascii=False))
lib.ecert_inspector_free(inspector)
