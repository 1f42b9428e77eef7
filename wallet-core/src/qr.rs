//! QR rendering and decoding (owned by the QR work; placeholder).
