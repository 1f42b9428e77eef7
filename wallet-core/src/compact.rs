//! The compact QR form of a signed credential (owned by the QR work; placeholder).
