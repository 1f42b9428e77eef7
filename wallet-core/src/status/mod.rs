//! W3C Bitstring Status List (in progress).
